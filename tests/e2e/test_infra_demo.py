"""scripts/demo drives the CLI in order, skips finished stages on a rerun and keeps its key.

The `guanlian` command is replaced by a recorder in a throwaway virtualenv folder, so this
checks the script's orchestration, not the stages themselves (their own tests do that).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

FAKE_GUANLIAN = r"""#!/usr/bin/env bash
set -euo pipefail
printf '%s\n' "$*" >>"$CALLS"
arg() {  # value of option $1 in the remaining arguments
  local want="$1"; shift
  while [[ $# -gt 0 ]]; do
    if [[ "$1" == "$want" ]]; then printf '%s\n' "$2"; return; fi
    shift
  done
}
case "$1" in
  generate) out="$(arg --out "$@")"; mkdir -p "$out/truth"
            touch "$out/sources.yaml" "$out/truth/mentions.csv" ;;
  link) out="$(arg --out "$@")"; mkdir -p "$out"
        touch "$out/report.json" "$out/entities.parquet" ;;
  score) run="$(arg --run "$@")"; touch "$run/risk.parquet" ;;
  keys) printf 'created key k1 for demo (investigator); shown once:\ngl_k1_SECRETvalue\n' ;;
  serve) printf 'serving store=%s state=%s\n' "$GUANLIAN_STORE" "$GUANLIAN_STATE_DIR" ;;
esac
"""


def make_fake_venv(base: Path) -> Path:
    venv = base / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    guanlian = venv / "bin" / "guanlian"
    guanlian.write_text(FAKE_GUANLIAN)
    guanlian.chmod(0o755)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    (venv / ".guanlian-install").write_text(f"{digest} base\n")
    return venv


def run_demo(base: Path, venv: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUANLIAN_", "NEO4J_"))}
    env.update(
        VENV=str(venv),
        GUANLIAN_DEMO_DIR=str(base / "demo"),
        CALLS=str(base / "calls.txt"),
        PORT="18123",
        NEO4J_URI="bolt://127.0.0.1:1",
    )
    return subprocess.run(
        [str(ROOT / "scripts" / "demo")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_demo_runs_each_stage_once_and_reuses_the_key(tmp_path: Path) -> None:
    venv = make_fake_venv(tmp_path)
    demo = tmp_path / "demo"

    first = run_demo(tmp_path, venv)
    assert first.returncode == 0, first.stdout + first.stderr
    calls = (tmp_path / "calls.txt").read_text().splitlines()
    assert [c.split()[0] for c in calls] == ["generate", "link", "score", "keys", "serve"]
    assert calls[0] == f"generate --size small --seed 7 --out {demo}/data"
    assert calls[1] == f"link --sources {demo}/data/sources.yaml --out {demo}/runs/run1"
    assert calls[3] == "keys create --role investigator --name demo"
    assert calls[4] == f"serve --run {demo}/runs/run1 --host 127.0.0.1 --port 18123"
    assert (demo / "api-key").read_text().strip() == "gl_k1_SECRETvalue"
    assert "http://127.0.0.1:18123/ui/" in first.stdout
    assert "gl_k1_SECRETvalue" in first.stdout
    # The demo serves the embedded store even with NEO4J_URI set, and keeps its state with it.
    assert f"serving store=embedded state={demo}/state" in first.stdout

    (tmp_path / "calls.txt").unlink()
    second = run_demo(tmp_path, venv)
    assert second.returncode == 0, second.stdout + second.stderr
    assert (tmp_path / "calls.txt").read_text().splitlines() == [calls[4]]
    assert "gl_k1_SECRETvalue" in second.stdout


def test_demo_redoes_an_interrupted_link(tmp_path: Path) -> None:
    venv = make_fake_venv(tmp_path)
    run = tmp_path / "demo" / "runs" / "run1"
    run.mkdir(parents=True)
    (run / "entities.parquet").write_text("partial")  # no report.json: the link did not finish

    result = run_demo(tmp_path, venv)

    assert result.returncode == 0, result.stdout + result.stderr
    calls = [c.split()[0] for c in (tmp_path / "calls.txt").read_text().splitlines()]
    assert calls == ["generate", "link", "score", "keys", "serve"]
    assert (run / "entities.parquet").read_text() == ""
