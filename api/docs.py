"""`/docs`: Swagger UI (5.x, for OpenAPI 3.1) served from the installed `swagger-ui-py`
package's static files, never a CDN.

The page is where keys are pasted, so it loads nothing from elsewhere: the Swagger UI files
come from the Python package (whitelisted names only), the page's start-up code is a file of
its own (no inline script), and a Content-Security-Policy allows this origin only. ReDoc is
not served (it has no packaged assets).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response

DOCS_PREFIX = "/docs"
# Swagger UI sets inline styles from its scripts; nothing else is relaxed
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
_INIT_JS = """\
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: false,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  layout: "BaseLayout",
});
"""
_PAGE = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} - API docs</title>
<link rel="stylesheet" href="{prefix}/swagger-ui.css">
<link rel="icon" type="image/png" href="{prefix}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{prefix}/swagger-ui-bundle.js"></script>
<script src="{prefix}/init.js"></script>
</body>
</html>
"""


def assets_dir() -> Path:
    """The folder of Swagger UI's files inside the installed `swagger-ui-py` package (found
    without importing it: only its static files are used)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def install(app: FastAPI) -> None:
    """Serve the page, its start-up script and the whitelisted Swagger UI assets."""
    folder = assets_dir()
    missing = [name for name in ASSETS if name != "favicon-32x32.png"
               if not (folder / name).is_file()]
    if missing:
        raise RuntimeError(f"swagger-ui-py lacks {', '.join(missing)} in {folder}")
    page = _PAGE.format(title=app.title, prefix=DOCS_PREFIX)

    async def docs_page() -> HTMLResponse:
        return HTMLResponse(page, headers=_HEADERS)

    async def docs_init() -> Response:
        return Response(_INIT_JS, media_type="text/javascript; charset=utf-8", headers=_HEADERS)

    async def docs_asset(name: str) -> Response:
        media_type = ASSETS.get(name)
        path = folder / name
        if media_type is None or not path.is_file():
            return Response(status_code=404, headers=_HEADERS)
        return FileResponse(path, media_type=media_type, headers=_HEADERS)

    app.add_api_route(DOCS_PREFIX, docs_page, methods=["GET"], include_in_schema=False)
    app.add_api_route(f"{DOCS_PREFIX}/init.js", docs_init, methods=["GET"],
                      include_in_schema=False)
    app.add_api_route(f"{DOCS_PREFIX}/{{name}}", docs_asset, methods=["GET"],
                      include_in_schema=False)
