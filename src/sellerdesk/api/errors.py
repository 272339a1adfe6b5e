"""Every error leaves the API as {"error": {"code", "message", "field"}}."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from sellerdesk.core.errors import AppError


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorResponse(BaseModel):
    """The shape of every error the API returns."""

    error: ErrorDetail


RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in (
        (401, "Missing or unknown token"),
        (403, "The token's role may not do this"),
        (404, "No such object in this store"),
        (409, "The object's state does not allow this"),
        (422, "A field is missing or invalid; `field` names it"),
    )
}


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:] or parts
    return ".".join(parts) or "body"


# Renders an error for a browser (the web workspace) instead of JSON: (request, status, code,
# message) -> response. Paths under /api/ always get JSON.
ErrorPage = Callable[[Request, int, str, str], Awaitable[Response]]
_error_page: ErrorPage | None = None


def _for_browser(request: Request) -> bool:
    return _error_page is not None and not request.url.path.startswith(("/api/", "/healthz"))


async def _app_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, AppError):
        raise exc
    if _error_page is not None and _for_browser(request):
        return await _error_page(request, exc.status_code, exc.code, exc.message)
    return JSONResponse(error_body(exc.code, exc.message, exc.field), exc.status_code)


async def _validation_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, RequestValidationError):
        raise exc
    if _error_page is not None and _for_browser(request):
        return await _error_page(request, 422, "request.invalid", str(exc.errors()[0].get("msg")))
    first = exc.errors()[0]
    field = _field(tuple(first.get("loc", ())))
    message = f"{field}: {first.get('msg', 'invalid')}"
    if first.get("type") == "json_invalid":
        return JSONResponse(error_body("request.invalid_json", "body is not valid JSON", "body"),
                            422)
    return JSONResponse(error_body("request.invalid", message, field), 422)


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, StarletteHTTPException):
        raise exc
    codes = {404: "request.not_found", 405: "request.method_not_allowed"}
    code = codes.get(exc.status_code, f"request.http_{exc.status_code}")
    if _error_page is not None and _for_browser(request):
        return await _error_page(request, exc.status_code, code, str(exc.detail))
    return JSONResponse(error_body(code, str(exc.detail)), exc.status_code,
                        headers=getattr(exc, "headers", None))


def install(app: FastAPI, *, error_page: ErrorPage | None = None) -> None:
    global _error_page
    _error_page = error_page
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
