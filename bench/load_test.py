"""HTTP load generator for the API: fixed arrival rate, N concurrent clients, loopback.

    python bench/load_test.py --url http://127.0.0.1:8000 --key KEY \
        --lookup-file subjects.jsonl --rate 50 --clients 8 --duration 20 [--find-max]

Open-loop: request i is due at t0 + i / rate whatever happened before it; N clients (each its
own connection) take due requests in order. Latency is measured from the *due* time, so a
server that falls behind shows it in the percentiles (no coordinated omission); the service
time (send to answer) is reported beside it. Every run is bounded by a request count and a
duration. `find_max_rps` raises the rate step by step and reports the highest rate whose
p99 stays within a target with no errors.

Importable: `LoadSpec`, `LoadResult`, `run_load` (async), `run` (sync), `find_max_rps`,
`lookup_requests`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

# (method, path, JSON body or None) of the i-th request
Request = tuple[str, str, Any]
RequestFactory = Callable[[int], Request]


@dataclass(frozen=True)
class LoadSpec:
    base_url: str
    requests: RequestFactory
    rate: float = 50.0  # requests per second
    clients: int = 8
    duration_s: float = 20.0
    max_requests: int = 100_000
    timeout_s: float = 10.0
    headers: dict[str, str] = field(default_factory=dict)
    warmup: int = 20  # requests sent (and not measured) before the run


@dataclass
class LoadResult:
    rate: float
    clients: int
    sent: int
    errors: int
    statuses: dict[str, int]
    elapsed_s: float
    latencies_ms: list[float]  # from due time
    service_ms: list[float]  # from send time

    @property
    def achieved_rps(self) -> float:
        return self.sent / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def pct(self, q: float, service: bool = False) -> float:
        return percentile(self.service_ms if service else self.latencies_ms, q)

    @property
    def p50_ms(self) -> float:
        return self.pct(50)

    @property
    def p99_ms(self) -> float:
        return self.pct(99)

    def summary(self) -> dict[str, Any]:
        return {
            "rate": self.rate, "clients": self.clients, "sent": self.sent,
            "errors": self.errors, "statuses": self.statuses,
            "achieved_rps": round(self.achieved_rps, 1),
            "p50_ms": round(self.p50_ms, 2), "p90_ms": round(self.pct(90), 2),
            "p99_ms": round(self.p99_ms, 2), "max_ms": round(self.pct(100), 2),
            "service_p50_ms": round(self.pct(50, True), 2),
            "service_p99_ms": round(self.pct(99, True), 2),
        }


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def lookup_requests(subjects: Sequence[dict[str, Any]],
                    path: str = "/inspection/lookup") -> RequestFactory:
    """POST each subject in turn (cycling)."""
    if not subjects:
        raise ValueError("no subjects to send")

    def make(i: int) -> Request:
        return "POST", path, subjects[i % len(subjects)]

    return make


def get_requests(paths: Sequence[str]) -> RequestFactory:
    def make(i: int) -> Request:
        return "GET", paths[i % len(paths)], None

    return make


async def _send(client: httpx.AsyncClient, request: Request) -> int:
    method, path, body = request
    response = await client.request(method, path, json=body)
    await response.aread()
    return response.status_code


async def run_load(spec: LoadSpec) -> LoadResult:
    """One fixed-rate run; bounded by `duration_s` and `max_requests`."""
    total = max(1, min(spec.max_requests, int(spec.rate * spec.duration_s)))
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [
        httpx.AsyncClient(base_url=spec.base_url, headers=spec.headers, limits=limits,
                          timeout=spec.timeout_s)
        for _ in range(spec.clients)
    ]
    try:
        for i in range(spec.warmup):  # open the connections, warm caches
            await _send(clients[i % len(clients)], spec.requests(i))
        counter = itertools.count()
        latencies: list[float] = []
        service: list[float] = []
        statuses: Counter[str] = Counter()
        t0 = time.perf_counter() + 0.05
        hard_stop = t0 + spec.duration_s * 2 + spec.timeout_s

        async def worker(client: httpx.AsyncClient) -> None:
            while True:
                i = next(counter)
                if i >= total:
                    return
                due = t0 + i / spec.rate
                now = time.perf_counter()
                if now > hard_stop:
                    statuses["not_sent"] += 1
                    continue
                if due > now:
                    await asyncio.sleep(due - now)
                sent = time.perf_counter()
                try:
                    status = await _send(client, spec.requests(spec.warmup + i))
                    statuses[str(status)] += 1
                except httpx.HTTPError as exc:
                    statuses[type(exc).__name__] += 1
                done = time.perf_counter()
                latencies.append((done - due) * 1000)
                service.append((done - sent) * 1000)

        await asyncio.gather(*(worker(c) for c in clients))
        elapsed = time.perf_counter() - t0
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    errors = sum(n for s, n in statuses.items() if not s.startswith(("2", "3")))
    return LoadResult(spec.rate, spec.clients, sum(statuses.values()), errors,
                      dict(statuses), elapsed, latencies, service)


def run(spec: LoadSpec) -> LoadResult:
    return asyncio.run(run_load(spec))


def find_max_rps(
    spec: LoadSpec,
    p99_target_ms: float = 100.0,
    start_rps: float = 100.0,
    factor: float = 2.0,
    max_rps: float = 2000.0,
    step_duration_s: float = 5.0,
    refine_steps: int = 2,
) -> tuple[float, list[LoadResult]]:
    """Highest sustained rate with p99 <= target, no errors and the rate actually achieved.

    Grows the rate by `factor` until a step fails, then bisects between the last good and
    the first bad rate `refine_steps` times. Returns (best rate or 0, every step's result).
    """
    results: list[LoadResult] = []

    def passes(rate: float) -> bool:
        step = replace(spec, rate=rate, duration_s=step_duration_s)
        result = run(step)
        results.append(result)
        return (result.errors == 0 and result.p99_ms <= p99_target_ms
                and result.achieved_rps >= 0.9 * rate)

    good, bad, rate = 0.0, math.inf, start_rps
    while rate <= max_rps:
        if passes(rate):
            good, rate = rate, rate * factor
        else:
            bad = rate
            break
    if math.isfinite(bad):
        for _ in range(refine_steps):
            middle = (good + bad) / 2 if good else bad / 2
            if passes(middle):
                good = middle
            else:
                bad = middle
    return good, results


def _load_subjects(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        data = json.loads(text)
        return list(data["subjects"] if isinstance(data, dict) else data)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--key", required=True, help="API key (X-API-Key)")
    parser.add_argument("--lookup-file", type=Path,
                        help="JSON lines (or a JSON list) of lookup subjects to POST")
    parser.add_argument("--get", action="append", default=[], help="GET these paths instead")
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--max-requests", type=int, default=100_000)
    parser.add_argument("--find-max", action="store_true",
                        help="search the max sustained rate at p99 <= --p99-target")
    parser.add_argument("--p99-target", type=float, default=100.0)
    args = parser.parse_args(argv)
    if args.lookup_file:
        factory = lookup_requests(_load_subjects(args.lookup_file))
    elif args.get:
        factory = get_requests(args.get)
    else:
        parser.error("give --lookup-file or --get")
    spec = LoadSpec(args.url, factory, rate=args.rate, clients=args.clients,
                    duration_s=args.duration, max_requests=args.max_requests,
                    headers={"X-API-Key": args.key})
    result = run(spec)
    print(json.dumps(result.summary(), ensure_ascii=False))
    if args.find_max:
        best, steps = find_max_rps(spec, p99_target_ms=args.p99_target)
        for step in steps:
            print(json.dumps(step.summary(), ensure_ascii=False))
        print(json.dumps({"max_sustained_rps": round(best, 1), "p99_target_ms": args.p99_target}))
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
