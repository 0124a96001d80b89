"""Synthetic multi-agency data set with ground truth: the project's test bed.

`generate(size, seed, out, profile=...)` writes `out/data/*` (agency files), `out/sources.yaml`
and `out/truth/*`; the same size, seed and profile give byte-identical files. A noise profile
(profiles.yaml: default, malformed_ids, customs_english, messy_registry, person_spellings,
masked_ids, anonymised, pasted, dates_written, hard) sets how messy
the records are; `default` is the generator's own noise.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from linkage.synth.profiles import Profile, load_profile, profile_names
from linkage.synth.records import BAD_BYTES_MARK, make_records
from linkage.synth.styles import (
    paste_invisible,
    restyle_person_ids,
    rewrite_dates,
    write_placeholders,
)
from linkage.synth.world import build_world
from linkage.synth.writers import FILES, write_sources_yaml, write_table, write_truth

SIZES: dict[str, int] = {"tiny": 200, "small": 2_000, "medium": 10_000, "large": 100_000}

Progress = Callable[[str], None]


def generate(size: str, seed: int, out: Path, progress: Progress | None = None,
             profile: str | Profile = "default") -> Path:
    """Generate the data set of `size` (tiny|small|medium|large) with the noise `profile` (a
    built-in name, a profile YAML path or a Profile) into `out`; returns `out`."""
    prof = profile if isinstance(profile, Profile) else load_profile(profile)
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; expected one of {', '.join(SIZES)}")
    step = progress or (lambda _msg: None)
    out = Path(out)
    (out / "data").mkdir(parents=True, exist_ok=True)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    step("building the world")
    world = build_world(SIZES[size], seed)
    restyle_person_ids(world, prof, seed)
    step("writing agency records")
    records = make_records(world, seed, prof)
    rewrite_dates(records.tables.values(), prof, seed, BAD_BYTES_MARK)
    paste_invisible(records.tables.values(), prof, seed, BAD_BYTES_MARK,
                    {name: spec[2] for name, spec in FILES.items()})
    write_placeholders(records.tables.values(), prof, seed)
    for table in records.tables.values():
        step(f"writing {table.name}")
        write_table(table, out / "data")
    write_sources_yaml(out / "sources.yaml", prof.customs.declarant_phone > 0)
    step("writing truth")
    write_truth(world, records, out / "truth")
    return out


__all__ = ["SIZES", "Profile", "generate", "load_profile", "profile_names"]
