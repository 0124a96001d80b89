"""A non-editable install (a wheel, as `pip install .` and the Docker image make) serves the
workspace: `/ui/` and its graph library answer 200 from the installed package, not from the
checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = "web/node_modules/cytoscape/dist/cytoscape.min.js"

pytestmark = pytest.mark.slow

PROBE = """
import json, sys
from pathlib import Path
from fastapi import FastAPI
from fastapi.testclient import TestClient
from api.ui import DEFAULT_WEB_DIR, mount_ui
app = FastAPI()
mount_ui(app, DEFAULT_WEB_DIR)
client = TestClient(app)
out = {"web_dir": str(DEFAULT_WEB_DIR)}
for path in ("/ui/", "/ui/app.js", "/ui/vendor/cytoscape.min.js"):
    out[path] = client.get(path).status_code
print(json.dumps(out))
"""


def test_wheel_serves_the_page_and_its_graph_library(tmp_path: Path) -> None:
    subprocess.run([str(ROOT / "scripts" / "web-assets")], check=True, cwd=ROOT)
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), "."],
        check=True, cwd=ROOT,
    )
    (wheel,) = wheels.glob("guanlian-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert {"web/index.html", "web/app.js", LIBRARY} <= names

    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
         str(target), str(wheel)],
        check=True,
    )
    # the installed copy comes first on the path; dependencies from this interpreter
    env = {**os.environ, "PYTHONPATH": str(target)}
    done = subprocess.run([sys.executable, "-c", PROBE], check=True, cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(answer["web_dir"]).is_relative_to(target)
    assert answer["/ui/"] == 200
    assert answer["/ui/app.js"] == 200
    assert answer["/ui/vendor/cytoscape.min.js"] == 200
