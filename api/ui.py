"""Serve the investigator workspace (the static page in `web/`) at `/ui/`.

The page is plain HTML, CSS and ES modules with no build step; its one third-party file, the
Cytoscape.js graph library, is installed from the npm registry into `web/node_modules` by
`scripts/web-assets` and served from there, so nothing is fetched from the internet at run
time. `web/` is a Python package whose data files are the page and, when the assets were
built before `pip install .`, the library's dist file: a non-editable install (the Docker
image) serves the page from site-packages; `GUANLIAN_WEB_DIR` points elsewhere. Only a
whitelist of files is served: the page's own `*.html`, `*.js` and `*.css` at the top of `web/`,
and the library's dist file. When `web/node_modules` is missing the page still
loads, and the library file answers a 503 problem that says how to install it.

The page itself needs no key; every data call it makes sends the user's key.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response

import web
from api.context import current_request_id

UI_PREFIX = "/ui"
DEFAULT_WEB_DIR = Path(web.__file__).resolve().parent

# file served at /ui/vendor/<name> -> path inside web/node_modules
VENDOR_FILES: dict[str, str] = {
    "cytoscape.min.js": "cytoscape/dist/cytoscape.min.js",
}
_PAGE_FILE = re.compile(r"^[a-z][a-z0-9_-]*\.(?:js|css)$")
_MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}
# the page may talk to its own origin only; images may be data:/blob: (PNG export)
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
}


def _problem(request: Request, status: int, title: str, detail: str, code: str) -> JSONResponse:
    request_id = current_request_id() or request.headers.get("x-request-id") or uuid.uuid4().hex
    body = {
        "type": f"about:blank#{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": request_id,
    }
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _file(path: Path) -> FileResponse:
    media_type = _MEDIA_TYPES.get(path.suffix, "application/octet-stream")
    return FileResponse(path, media_type=media_type, headers=_HEADERS)


def mount_ui(app: FastAPI, web_dir: Path = DEFAULT_WEB_DIR) -> None:
    """Add the `/ui/` routes serving the page in `web_dir` (normally the repository's `web/`)."""
    web_dir = web_dir.resolve()

    async def ui_root() -> RedirectResponse:
        return RedirectResponse(url=f"{UI_PREFIX}/", status_code=308)

    async def ui_index(request: Request) -> Response:
        index = web_dir / "index.html"
        if not index.is_file():
            return _problem(request, 404, "Page not found", f"{index} does not exist", "ui_missing")
        return _file(index)

    async def ui_vendor(request: Request, name: str) -> Response:
        rel = VENDOR_FILES.get(name)
        if rel is None:
            return _problem(request, 404, "Not found", f"no vendor file {name!r}", "not_found")
        path = web_dir / "node_modules" / rel
        if not path.is_file():
            return _problem(
                request,
                503,
                "Web assets not installed",
                f"{name} is missing from {web_dir / 'node_modules'}; run scripts/web-assets",
                "web_assets_missing",
            )
        return _file(path)

    async def ui_file(request: Request, name: str) -> Response:
        path = web_dir / name
        if not _PAGE_FILE.match(name) or not path.is_file():
            return _problem(request, 404, "Not found", f"no page file {name!r}", "not_found")
        return _file(path)

    app.add_api_route(UI_PREFIX, ui_root, methods=["GET"], include_in_schema=False)
    app.add_api_route(f"{UI_PREFIX}/", ui_index, methods=["GET"], include_in_schema=False)
    app.add_api_route(
        f"{UI_PREFIX}/vendor/{{name}}", ui_vendor, methods=["GET"], include_in_schema=False
    )
    app.add_api_route(f"{UI_PREFIX}/{{name}}", ui_file, methods=["GET"], include_in_schema=False)
