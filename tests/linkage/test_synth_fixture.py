"""The committed small data set is exactly what `scripts/regen-fixtures` produces."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from linkage.synth import generate

FIXTURE = Path(__file__).parents[1] / "fixtures" / "small"


def test_committed_fixture_matches_a_regeneration(tmp_path: Path) -> None:
    fresh = generate("small", 7, tmp_path / "small")
    committed = sorted(p.relative_to(FIXTURE) for p in FIXTURE.rglob("*") if p.is_file())
    regenerated = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    assert committed == regenerated, "file lists differ: run scripts/regen-fixtures"
    differ = []
    for rel in committed:
        a, b = FIXTURE / rel, fresh / rel
        if rel.suffix == ".parquet":  # compare content: Parquet bytes embed the writer version
            if not pq.read_table(a).equals(pq.read_table(b)):
                differ.append(str(rel))
        elif a.read_bytes() != b.read_bytes():
            differ.append(str(rel))
    assert differ == [], f"{differ} differ from a regeneration: run scripts/regen-fixtures"


def test_fixture_stays_small() -> None:
    total = sum(p.stat().st_size for p in FIXTURE.rglob("*") if p.is_file())
    assert total < 8 * 1024 * 1024
