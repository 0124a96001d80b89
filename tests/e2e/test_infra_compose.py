"""docker-compose.yml and the Dockerfile keep the deployment contract of the foundation issue."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_neo4j_service_runs_the_official_5_lts_image_with_auth_and_health(
    compose: dict[str, Any],
) -> None:
    neo4j = compose["services"]["neo4j"]
    assert neo4j["image"] == "neo4j:5.26-community"
    assert re.fullmatch(r"neo4j/\$\{NEO4J_PASSWORD:\?.+\}", neo4j["environment"]["NEO4J_AUTH"])
    assert "cypher-shell" in " ".join(neo4j["healthcheck"]["test"])
    targets = {v.split(":")[1] for v in neo4j["volumes"]}
    assert {"/data", "/logs"} <= targets
    assert all(p.startswith("127.0.0.1:") for p in neo4j["ports"])


def test_api_service_waits_for_a_healthy_neo4j_and_uses_the_conventional_variables(
    compose: dict[str, Any],
) -> None:
    api = compose["services"]["api"]
    assert api["depends_on"]["neo4j"]["condition"] == "service_healthy"
    env = api["environment"]
    assert env["NEO4J_URI"] == "bolt://neo4j:7687"
    assert {"NEO4J_USER", "NEO4J_PASSWORD", "GUANLIAN_STATE_DIR"} <= set(env)
    assert "/healthz" in " ".join(api["healthcheck"]["test"])
    assert api["command"][:4] == ["guanlian", "serve", "--neo4j", "bolt://neo4j:7687"]
    state_dir = env["GUANLIAN_STATE_DIR"]
    assert any(v.split(":")[1] == state_dir for v in api["volumes"])


def test_every_named_volume_is_declared(compose: dict[str, Any]) -> None:
    used = {
        v.split(":")[0]
        for service in compose["services"].values()
        for v in service.get("volumes", [])
        if not v.startswith((".", "/"))
    }
    assert used == set(compose["volumes"])


def test_dockerfile_builds_the_api_on_python_311_slim() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim$", text, re.MULTILINE)
    # at the tested versions (constraints.txt), copied in beside pyproject.toml
    assert re.search(r"^COPY pyproject\.toml README\.md constraints\.txt \./$", text, re.MULTILINE)
    assert re.search(r"^RUN pip install -c constraints\.txt \.", text, re.MULTILINE)
    assert '"guanlian", "serve"' in text


def test_dockerfile_ships_every_package_and_the_workspace_assets() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {p.rstrip("*") for p in include}
    for package in packages:
        assert re.search(rf"^COPY {package} \./{package}$", text, re.MULTILINE), package
    # the graph library is built in a stage of its own and lands beside the page before install
    assert re.search(r"^FROM node:\d+-slim AS web-assets$", text, re.MULTILINE)
    assert "--from=web-assets /web/node_modules/cytoscape/dist/cytoscape.min.js" in text
    assert text.index("COPY --from=web-assets") < text.index("RUN pip install -c constraints.txt .")
