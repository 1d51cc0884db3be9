"""The gateway's OpenAPI document, completed where FastAPI's own cannot say what the gateway does:
errors are problem+json (422 included), bucket and key names follow `adapters/names.py`, and
every path answers OPTIONS with its `Allow` header."""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import FastAPI

from adapters import names

from .models import Problem

_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}

#: Path parameters documented once, for every operation that takes them.
_PARAMETERS: dict[str, dict[str, Any]] = {
    "bucket": {"description": names.BUCKET_RULE, "schema": {
        "type": "string", "minLength": 3, "maxLength": 63, "pattern": names.BUCKET_PATTERN}},
    "key": {"description": names.KEY_RULE, "schema": {"type": "string", "minLength": 1}},
}

_OPTIONS = {
    "summary": "The methods this path serves",
    "responses": {"204": {"description": "No body; the methods are in `Allow`", "headers": {
        "Allow": {"description": "Comma-separated methods, e.g. `GET, HEAD, PUT, DELETE, OPTIONS`",
                  "schema": {"type": "string"}}}}},
}


#: Swagger UI's files, served by the gateway itself (scripts/vendor-swagger-ui.sh refreshes
#: them): /docs works without internet, where FastAPI's default page loads them from a CDN.
ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css",
          "favicon-32x32.png": "image/png"}


def install_docs(app: FastAPI) -> None:
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse, Response

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Sortie gateway API",
                                   swagger_js_url="/docs/assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs/assets/swagger-ui.css",
                                   swagger_favicon_url="/docs/assets/favicon-32x32.png")

    @app.get("/docs/assets/{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        if name not in ASSETS:
            return Response(status_code=404)
        data = resources.files("service").joinpath("docs_assets", name).read_bytes()
        return Response(data, media_type=ASSETS[name],
                        headers={"Cache-Control": "public, max-age=86400"})


def install(app: FastAPI) -> None:
    install_docs(app)
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(original())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = Problem.model_json_schema()
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            _document_operation(operation)
        item["options"] = {**_OPTIONS, "tags": _tags(item)}
    return schema


def _document_operation(operation: dict[str, Any]) -> None:
    invalid = operation.get("responses", {}).get("422")
    if invalid is not None:  # FastAPI's validation answer is rewritten to a problem
        invalid.update(description="Invalid parameters or body", content=_PROBLEM)
    for parameter in operation.get("parameters", []):
        documented = _PARAMETERS.get(parameter.get("name", ""))
        if parameter.get("in") == "path" and documented:
            parameter.update(documented)


def _tags(item: dict[str, Any]) -> list[str]:
    return next((op["tags"] for op in item.values() if op.get("tags")), [])
