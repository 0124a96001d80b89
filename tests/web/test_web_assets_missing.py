"""Without its graph library the workspace says so, and keeps saying so after sign-in.

The page is served from a copy of `web/` without `node_modules` (`GUANLIAN_WEB_DIR`), as a
checkout where `scripts/web-assets` never ran would serve it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from api.auth import KeyStore
from api.settings import Settings
from tests.support.graph_fixture import build_tiny_run
from tests.support.web_session import start_api
from tests.web.test_web_workspace import ROOT, Server, _open

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def bare_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("bare-web")
    web = tmp / "web"
    shutil.copytree(ROOT / "web", web, ignore=shutil.ignore_patterns("node_modules"))
    settings = Settings(run_dir=build_tiny_run(tmp), state_dir=tmp / "state", store="embedded",
                        environment="test", web_dir=web)
    keys = KeyStore(settings.keys_path)
    key = keys.create("web-test-investigator", "investigator")[1]
    keys.close()
    running = start_api(settings)
    yield Server(running.base_url, {"investigator": key})
    running.stop()


def test_missing_graph_library_is_a_lasting_message(
    browser: Browser, bare_server: Server
) -> None:
    for s in _open(browser, bare_server, "assets_missing", "investigator"):
        banner = s.page.get_by_test_id("assets-missing")
        banner.wait_for(state="visible")
        assert "scripts/web-assets" in banner.inner_text()
        # the status line moved on ("signed in"); the banner did not go away
        assert "Signed in" in s.page.get_by_test_id("status").inner_text()
        s.page.wait_for_timeout(500)
        assert banner.is_visible()
        s.shot("banner")
        # the only console errors are about the library: its 503, and (nosniff) the browser
        # refusing to run the problem document as a script
        assert s.errors and all("503" in e or "cytoscape.min.js" in e for e in s.errors), s.errors
