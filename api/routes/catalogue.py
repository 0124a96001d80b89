"""The risk catalogue: shared controllers, phoenix firms, hubs, ownership cycles, rings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.context import returned
from api.deps import AsInvestigator, StoreDep, heavy
from api.openapi import AUTH, problems
from api.schemas import Items
from graph.catalogue import MAX_CYCLE_LENGTH
from graph.models import Cycle, Hub, PhoenixPair, Ring, SharedController

router = APIRouter(prefix="/risk", tags=["risk catalogue"], responses=problems(*AUTH),
                   dependencies=[heavy("catalogue")])
Limit = Annotated[int, Query(ge=1, le=200)]


@router.get("/shared-controllers", response_model=Items[SharedController],
            summary="People or firms controlling several violating firms")
def shared_controllers(
    _: AsInvestigator, store: StoreDep,
    min_firms: Annotated[int, Query(ge=2, le=50)] = 2, limit: Limit = 50,
) -> Items[SharedController]:
    return returned(Items[SharedController](
        items=store.shared_controllers(min_firms=min_firms, limit=limit)))


@router.get("/phoenix", response_model=Items[PhoenixPair],
            summary="Penalised firms succeeded by a new firm of the same people or address")
def phoenix(_: AsInvestigator, store: StoreDep, limit: Limit = 50) -> Items[PhoenixPair]:
    return returned(Items[PhoenixPair](items=store.phoenix_firms(limit=limit)))


@router.get("/hubs", response_model=Items[Hub],
            summary="Addresses and phones shared by many enterprises")
def hubs(
    _: AsInvestigator, store: StoreDep,
    min_enterprises: Annotated[int, Query(ge=2, le=1000)] = 5, limit: Limit = 50,
    include_whitelisted: bool = False,
) -> Items[Hub]:
    return returned(Items[Hub](items=store.hubs(
        min_enterprises=min_enterprises, limit=limit, include_whitelisted=include_whitelisted)))


@router.get("/cycles", response_model=Items[Cycle], summary="Circular ownership")
def cycles(
    _: AsInvestigator, store: StoreDep,
    max_length: Annotated[int, Query(ge=2, le=MAX_CYCLE_LENGTH)] = 4, limit: Limit = 50,
) -> Items[Cycle]:
    return returned(Items[Cycle](items=store.ownership_cycles(max_length=max_length,
                                                              limit=limit)))


@router.get("/rings", response_model=Items[Ring],
            summary="Groups of enterprises tied by shared people, phones and addresses")
def rings(
    _: AsInvestigator, store: StoreDep,
    min_size: Annotated[int, Query(ge=2, le=100)] = 3, limit: Limit = 50,
) -> Items[Ring]:
    return returned(Items[Ring](items=store.rings(min_size=min_size, limit=limit)))
