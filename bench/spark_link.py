"""`link --engine spark` with a bounded driver: each stage's wall time and the Python driver's
peak RSS (sampled by psutil every 0.2 s), beside the JVM driver heap it was given.

    GUANLIAN_SPARK_DRIVER_MEMORY=1g .venv/bin/python -m bench.spark_link \\
        --sources var/medium/sources.yaml --out var/medium_spark [--engine duckdb]

A stage that gathered a whole table into the driver would show in the RSS (Python) or fail
with an OutOfMemoryError (the 1 GiB JVM heap).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import threading
import time
from pathlib import Path

import psutil

from bench.machine import vm_hwm_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--engine", default="spark", choices=("spark", "duckdb"))
    args = parser.parse_args()
    from linkage.run import link

    peak = [0]
    me = psutil.Process()

    def watch() -> None:
        while True:
            peak[0] = max(peak[0], me.memory_info().rss)
            time.sleep(0.2)

    threading.Thread(target=watch, daemon=True).start()
    started, cpu = time.perf_counter(), time.process_time()
    result = link(args.sources, args.out, engine=args.engine, quiet=True)
    report = result.report
    print(json.dumps({
        "engine": args.engine,
        "wall_s": round(time.perf_counter() - started, 1),
        "driver_python_cpu_s": round(time.process_time() - cpu, 1),
        "driver_python_peak_rss_mib": round(peak[0] / 2**20),
        # the kernel's high-water mark of this process's own memory (not ru_maxrss, which
        # carries the RSS of whatever started us across fork + exec)
        "driver_python_maxrss_mib": round(
            vm_hwm_mb() or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "spark_driver_memory": os.environ.get("GUANLIAN_SPARK_DRIVER_MEMORY", "2g"),
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "stages_s": report["timings"],
        "entities": report["entities"],
        "relations": report["relations"],
        "events": report["events"],
        "links": report["resolution"]["links"],
    }, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
