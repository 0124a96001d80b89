"""Helpers of the workspace flow tests (no tests here): the real API served by uvicorn in a
thread on the tiny run, a browser tab signed in with a key, screenshots, console errors, and
the accessibility check (axe-core from npm, evaluated in the page)."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, ConsoleMessage, Page

from api.app import create_app
from api.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "web"
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


@dataclass
class Running:
    base_url: str
    app: FastAPI
    server: uvicorn.Server
    thread: threading.Thread
    sock: socket.socket

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()


def page_assets(shots: str) -> None:
    """Build the workspace's assets (scripts/web-assets), check axe-core is there and clear
    the screenshots named `shots` (a glob under test-artifacts/web) of an earlier run."""
    subprocess.run([str(ROOT / "scripts" / "web-assets")], check=True, timeout=300)
    assert AXE.exists(), "axe-core missing: scripts/web-assets installs it"
    for old in SHOTS.glob(shots):
        old.unlink()


def start_api(settings: Settings) -> Running:
    """The app on a loopback port, started (lifespan done) before returning."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(settings)
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.05)
    return Running(f"http://127.0.0.1:{port}", app, srv, thread, sock)


@dataclass
class Tab:
    """One signed-in browser tab: console errors, screenshots, axe."""

    page: Page
    name: str
    errors: list[str] = field(default_factory=list)
    # substrings of console errors the test expects (each must occur; nothing else may)
    expected_errors: list[str] = field(default_factory=list)
    step: int = 0
    prefix: str = "flow"  # screenshot and axe file names: <prefix>-<name>-…

    def console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            self.errors.append(f"console: {msg.text} at {msg.location}")

    def idle(self) -> None:
        self.page.locator('body[data-busy="0"]').wait_for(state="attached", timeout=20_000)

    def shot(self, label: str) -> Path:
        self.step += 1
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{self.prefix}-{self.name}-{self.step:02d}-{label}.png"
        self.page.screenshot(path=str(path))
        return path

    def ev(self, script: str, arg: Any = None) -> Any:
        return self.page.evaluate(script, arg)

    def testid(self, name: str) -> Any:
        return self.page.get_by_test_id(name)

    def axe(self, state: str) -> list[dict[str, Any]]:
        """Run axe-core on the page as it is; fail on any serious or critical violation."""
        if not self.ev("typeof window.axe === 'object'"):
            self.ev(AXE.read_text(encoding="utf-8"))
        result = self.ev("async () => { const r = await axe.run(document, "
                         "{resultTypes: ['violations']}); return r.violations.map(v => "
                         "({id: v.id, impact: v.impact, help: v.help, "
                         "nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})); }")
        bad = [v for v in result if v["impact"] in SERIOUS]
        SHOTS.mkdir(parents=True, exist_ok=True)
        (SHOTS / f"{self.prefix}-{self.name}-axe-{state}.json").write_text(
            json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
        assert not bad, f"axe ({state}): " + json.dumps(bad, ensure_ascii=False)
        return list(result)

    def highlighted(self) -> tuple[set[str], set[str]]:
        nodes = self.ev("guanlian.graph.cy.nodes('.highlighted').map(n => n.id())")
        edges = self.ev("guanlian.graph.cy.edges('.highlighted').map(e => e.id())")
        return set(nodes), set(edges)

    def assert_clean(self) -> None:
        for allowed in self.expected_errors:
            assert any(allowed in e for e in self.errors), (
                f"expected a console error with {allowed!r}: {self.errors}")
        left = [e for e in self.errors if not any(a in e for a in self.expected_errors)]
        assert not left, "\n".join(left)


@contextmanager
def signed_in(browser: Browser, base_url: str, key: str, name: str,
              prefix: str = "flow") -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1500, "height": 950}, base_url=base_url,
                                  accept_downloads=True)
    page = context.new_page()
    tab = Tab(page, name, prefix=prefix)
    page.on("console", tab.console)
    page.on("pageerror", lambda exc: tab.errors.append(f"page error: {exc}"))
    page.goto("/ui/")
    page.get_by_test_id("login-key").fill(key)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("whoami-role").wait_for()
    tab.idle()
    try:
        yield tab
    finally:
        context.close()
