"""Facts about the machine a benchmark ran on, and a peak-RSS probe for child stages."""

from __future__ import annotations

import os
import platform
import resource
from importlib.metadata import PackageNotFoundError, version
from typing import Any


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def memory_gib() -> float:
    with open("/proc/meminfo", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    return 0.0


def machine_info(neo4j_version: str | None = None) -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "memory_gib": memory_gib(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "neo4j": neo4j_version,
        "splink": _version("splink"),
        "duckdb": _version("duckdb"),
        "neo4j_driver": _version("neo4j"),
    }


def _status_mb(pid: int | str, field: str) -> float | None:
    """One `kB` field of /proc/PID/status in MiB, or None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(f"{field}:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def vm_hwm_mb(pid: int | str = "self") -> float | None:
    """The process's own peak RSS in MiB (`VmHWM` of /proc/PID/status: the high-water mark of
    its address space since its exec), or None when it cannot be read.

    Not `ru_maxrss`: Linux carries a parent's resident size across fork + exec into the
    child's `ru_maxrss`, so a child started by a 2 GB parent reports at least 2 GB, whatever
    it used itself."""
    return _status_mb(pid, "VmHWM")


def vm_rss_mb(pid: int | str = "self") -> float:
    """The process's resident size now, in MiB (`VmRSS`; 0 when it cannot be read)."""
    return _status_mb(pid, "VmRSS") or 0.0


def child_peak_mb(ru_maxrss_kib: int, parent_rss_at_spawn_mb: float,
                  polled_hwm_mb: float) -> float:
    """A finished child's own peak RSS in MiB from what its parent could see: the child's
    `ru_maxrss` (from wait4) is max(own peak, the parent's RSS when it was spawned), so when
    it is above the parent's RSS it is the child's own peak; otherwise the highest `VmHWM`
    polled while the child ran (which misses at most the last poll interval)."""
    usage = ru_maxrss_kib / 1024
    if usage > parent_rss_at_spawn_mb * 1.02 + 16:
        return round(usage, 1)
    return round(polled_hwm_mb, 1)


def peak_rss_mb(children: bool = False) -> float:
    """Peak resident set size of this process (or of its waited-for children) in MiB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)
