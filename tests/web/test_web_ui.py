"""`api.ui.mount_ui`: which files the workspace page routes serve, and how they fail."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.ui import CONTENT_SECURITY_POLICY, DEFAULT_WEB_DIR, mount_ui


def _client(web_dir: Path) -> TestClient:
    app = FastAPI()
    mount_ui(app, web_dir)
    return TestClient(app)


@pytest.fixture
def web_dir(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<!doctype html><title>关联</title>", encoding="utf-8")
    (tmp_path / "app.js").write_text("export const x = 1;\n")
    (tmp_path / "app.css").write_text("body { margin: 0 }\n")
    (tmp_path / "package.json").write_text("{}")
    (tmp_path / "secret.txt").write_text("no")
    return tmp_path


def test_serves_page_files_with_types_and_policy(web_dir: Path) -> None:
    client = _client(web_dir)
    page = client.get("/ui/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "关联" in page.text
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "default-src 'self'" in CONTENT_SECURITY_POLICY
    js = client.get("/ui/app.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    css = client.get("/ui/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_bare_prefix_redirects_to_the_page(web_dir: Path) -> None:
    resp = _client(web_dir).get("/ui", follow_redirects=False)
    assert resp.status_code == 308
    assert resp.headers["location"] == "/ui/"


@pytest.mark.parametrize(
    "path", ["/ui/package.json", "/ui/secret.txt", "/ui/..%2Fsecret.txt", "/ui/nope.js",
             "/ui/vendor/other.js", "/ui/node_modules/cytoscape/package.json"]
)
def test_only_whitelisted_files_are_served(web_dir: Path, path: str) -> None:
    resp = _client(web_dir).get(path)
    assert resp.status_code == 404
    if resp.headers["content-type"].startswith("application/problem+json"):
        assert resp.json()["status"] == 404


def test_missing_library_is_a_503_problem_but_the_page_still_loads(web_dir: Path) -> None:
    client = _client(web_dir)
    assert client.get("/ui/").status_code == 200
    resp = client.get("/ui/vendor/cytoscape.min.js")
    assert resp.status_code == 503
    assert resp.headers["content-type"].startswith("application/problem+json")
    problem = resp.json()
    assert problem["code"] == "web_assets_missing"
    assert "scripts/web-assets" in problem["detail"]
    assert problem["request_id"]


def test_installed_library_is_served(web_dir: Path) -> None:
    dist = web_dir / "node_modules" / "cytoscape" / "dist"
    dist.mkdir(parents=True)
    (dist / "cytoscape.min.js").write_text("window.cytoscape = function () {};\n")
    resp = _client(web_dir).get("/ui/vendor/cytoscape.min.js")
    assert resp.status_code == 200
    assert resp.text.startswith("window.cytoscape")


def test_repository_page_references_only_same_origin_files() -> None:
    html = (DEFAULT_WEB_DIR / "index.html").read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html
    for name in ("app.js", "app.css", "vendor/cytoscape.min.js"):
        assert name in html
    for js in DEFAULT_WEB_DIR.glob("*.js"):
        text = js.read_text(encoding="utf-8")
        assert "https://" not in text and "http://" not in text, js.name
