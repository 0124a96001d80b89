"""The walk policy: which nodes a walk may reach but never pass through.

A *blocked* node is an Address / Phone / Person / Enterprise whose degree (network
relationships, both directions, events excluded) exceeds `degree_cap`, or an Address / Phone
on `hubs_whitelist` (matched against the node ID, its label, its address_std or phone).
Walks (neighbourhood expansion, exposure, paths, rings, phoenix ties) may start or end at a
blocked node but never pass through it. Both stores and the risk score apply the same policy.

A store takes any object with these two fields (`WalkPolicy`); the deployment's values are
kept with the risk configuration (whose `RiskConfig` is such an object), the defaults are
`WalkLimits()`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

DEFAULT_DEGREE_CAP = 200


class WalkPolicy(Protocol):
    """The degree cap and the hubs whitelist a store walks with."""

    @property
    def degree_cap(self) -> int: ...

    @property
    def hubs_whitelist(self) -> Sequence[str]: ...


@dataclass(frozen=True)
class WalkLimits:
    """A plain `WalkPolicy` (the defaults when a store is given none)."""

    degree_cap: int = DEFAULT_DEGREE_CAP
    hubs_whitelist: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.degree_cap < 1:
            raise ValueError(f"degree_cap must be at least 1, got {self.degree_cap}")


def degree_cap_of(policy: WalkPolicy | None, override: int | None = None) -> int:
    """The cap a store uses: `override` when given, else the policy's, else the default."""
    if override is not None:
        return override
    return policy.degree_cap if policy is not None else DEFAULT_DEGREE_CAP


def whitelist_of(policy: WalkPolicy | None) -> tuple[str, ...]:
    """The hubs whitelist a store uses (none without a policy)."""
    return tuple(policy.hubs_whitelist) if policy is not None else ()


# --- the path finder's hubs --------------------------------------------------------------------
# Unless asked (`include_hubs`), a path does not pass through a *hub*: an Address or Phone tied
# to at least this many enterprises (LOCATED_AT / HAS_PHONE, people not counted: the
# catalogue's hub rule, graph.catalogue.HUB_TIES / MIN_HUB_ENTERPRISES), such as a business
# centre where dozens of firms are registered. It may still be a path's end.
PATH_HUB_MIN_ENTERPRISES = 5
