"""HTTP load generator for the API: fixed arrival rate, N concurrent clients, loopback.

    python bench/load_test.py --url http://127.0.0.1:8000 --key KEY \
        --lookup-file subjects.jsonl --rate 50 --clients 8 --duration 20 [--find-max]

Open-loop: request i is due at t0 + i / rate whatever happened before it; N clients (each its
own connection) take due requests in order. A request sent late because its client was still
waiting for an earlier answer is timed from its *due* time, so a server that falls behind
shows it in the percentiles (no coordinated omission); one whose client was idle is timed from
its sending (the event loop wakes up to a millisecond after a timer: the generator's delay,
not the server's). The service time (send to answer) is reported beside it. Each client
speaks HTTP/1.1 itself on one keep-alive connection (`Connection`), so that the generator's
own CPU stays out of the latency it reports. Every run is bounded by a request count and a
duration. `find_max_rps` raises the rate step by step and reports the highest rate whose
p99 stays within a target with no errors.

Importable: `LoadSpec`, `LoadResult`, `run_load` (async), `run` (sync), `find_max_rps`,
`lookup_requests`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
from urllib.parse import urlsplit

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
    latencies_ms: list[float]  # from due time, or from sending when the client was idle
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


class LoadError(Exception):
    """A response the load generator cannot read (a framing it does not speak)."""


class Connection:
    """One keep-alive HTTP/1.1 connection of a load client, spoken directly on asyncio
    streams: the request is written in one piece, the answer read by its Content-Length (or
    chunks) and discarded. A general client (httpx), on the same two cores as the server it
    measures, added its own time to the API's latency (9.1 ms at p50 where this connection
    sees 5.8 ms on the same server). Any
    failure closes the connection; the next request opens a new one."""

    def __init__(self, base_url: str, headers: dict[str, str], timeout_s: float) -> None:
        url = urlsplit(base_url)
        if url.scheme != "http" or not url.hostname:
            raise ValueError(f"the load generator speaks plain http://, not {base_url!r}")
        self.host, self.port = url.hostname, url.port or 80
        self.timeout_s = timeout_s
        self._head = (f"Host: {url.netloc}\r\n"
                      + "".join(f"{k}: {v}\r\n" for k, v in headers.items()))
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def send(self, request: Request) -> int:
        """The status of `request`'s answer (its body read in full)."""
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self._exchange(request)
        except BaseException:
            await self.close()
            raise

    async def _exchange(self, request: Request) -> int:
        method, path, body = request
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._reader, self._writer
        assert reader is not None
        data = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        kind = "Content-Type: application/json\r\n" if body is not None else ""
        writer.write(f"{method} {path} HTTP/1.1\r\n{self._head}{kind}"
                     f"Content-Length: {len(data)}\r\n\r\n".encode("latin-1") + data)
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        fields = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip().lower()
        if "chunked" in fields.get("transfer-encoding", ""):
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                await reader.readexactly(size + 2)
            await reader.readuntil(b"\r\n")  # the last chunk's line (no trailers sent)
        elif "content-length" in fields:
            await reader.readexactly(int(fields["content-length"]))
        elif status not in (204, 304):
            raise LoadError(f"{method} {path}: an answer with neither a length nor chunks")
        if fields.get("connection") == "close":
            await self.close()
        return status

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def run_load(spec: LoadSpec) -> LoadResult:
    """One fixed-rate run; bounded by `duration_s` and `max_requests`."""
    total = max(1, min(spec.max_requests, int(spec.rate * spec.duration_s)))
    clients = [Connection(spec.base_url, spec.headers, spec.timeout_s)
               for _ in range(spec.clients)]
    try:
        for i in range(spec.warmup):  # open the connections, warm caches
            await clients[i % len(clients)].send(spec.requests(i))
        counter = itertools.count()
        latencies: list[float] = []
        service: list[float] = []
        statuses: Counter[str] = Counter()
        t0 = time.perf_counter() + 0.05
        hard_stop = t0 + spec.duration_s * 2 + spec.timeout_s

        async def worker(client: Connection) -> None:
            free = time.perf_counter()  # when this client's last answer had come
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
                    status = await client.send(spec.requests(spec.warmup + i))
                    statuses[str(status)] += 1
                except (OSError, EOFError, TimeoutError, ValueError, LoadError,
                        asyncio.LimitOverrunError) as exc:
                    statuses[type(exc).__name__] += 1
                done = time.perf_counter()
                # late because this client was still busy: the wait counts (the server
                # fell behind); idle until due: from sending, not from due, which would
                # add the loop's timer overshoot (up to a millisecond) to every answer
                latencies.append((done - (due if free > due else sent)) * 1000)
                service.append((done - sent) * 1000)
                free = done

        await asyncio.gather(*(worker(c) for c in clients))
        elapsed = time.perf_counter() - t0
    finally:
        await asyncio.gather(*(c.close() for c in clients))
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
