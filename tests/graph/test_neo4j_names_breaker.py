"""The name query of the Neo4j candidate search, and the breaker's probe (no server needed:
the probe's ping is a function; the real frozen server is in tests/api)."""

from __future__ import annotations

import threading
import time

import pytest

from graph.neo4j.breaker import CircuitBreaker, Probe
from graph.neo4j.names import core_name, name_query
from graph.store import StoreUnavailable


def test_a_chinese_name_is_queried_by_its_core() -> None:
    # region and legal form match nearly every firm: left out of the candidate query
    assert name_query("北京优新冷链物流有限公司") == "优新冷链物流"
    assert name_query("上海华信进出口贸易有限公司") == "华信进出口贸易"
    assert core_name("深圳市兴荣商贸股份有限公司") == "兴荣商贸"
    assert name_query("张伟") == "张伟"  # nothing to strip
    assert name_query("有限公司")  # a name that is all legal form still gives a query


def test_a_latin_name_has_prefixes_but_no_infix_wildcard() -> None:
    query = name_query("Shanghai Huaxin Import and Export Trading Co., Ltd.")
    assert "huaxin*" in query.split()
    assert not any(t.startswith("*") for t in query.split())
    assert "huaxin*" in name_query("huaxin").split()
    assert name_query("AND OR NOT").split()[:3] == ["and", "or", "not"]  # no operators


def test_the_probe_opens_on_a_stalled_ping_and_closes_when_it_answers() -> None:
    breaker = CircuitBreaker(failures=3, retry_after=1)
    release = threading.Event()
    probe = Probe(breaker, lambda: (release.wait(10), None)[1], interval=0.05, stall=0.2)
    probe.start()
    try:
        deadline = time.monotonic() + 5
        while not breaker.is_open:
            assert time.monotonic() < deadline, "a stalled ping did not open the breaker"
            time.sleep(0.02)
        with pytest.raises(StoreUnavailable):
            breaker.check()
        release.set()  # the server answers again
        while breaker.is_open:
            assert time.monotonic() < deadline + 5, "an answered ping did not close it"
            time.sleep(0.02)
        breaker.check()
    finally:
        release.set()
        probe.stop()


def test_the_probe_opens_on_a_failed_ping() -> None:
    breaker = CircuitBreaker()

    def refused() -> None:
        raise ConnectionRefusedError("refused")

    probe = Probe(breaker, refused, interval=0.05, stall=0.5).start()
    try:
        deadline = time.monotonic() + 5
        while not breaker.is_open:
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        probe.stop()
