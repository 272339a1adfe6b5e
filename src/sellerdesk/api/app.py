"""The application factory: routers, error handlers, OpenAPI under /api/v1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from sqlalchemy import text

from sellerdesk import __version__
from sellerdesk.api import errors
from sellerdesk.api.deps import SessionDep
from sellerdesk.automation.empowerment.routes import router as empowerment_router
from sellerdesk.automation.macros.routes import router as macros_router
from sellerdesk.automation.routes import router as sla_router
from sellerdesk.automation.routing.routes import router as routing_router
from sellerdesk.automation.rules.routes import router as rules_router
from sellerdesk.channels.api.adapter import ApiInbound
from sellerdesk.channels.email.routes import router as email_router
from sellerdesk.channels.routes import router as channels_router
from sellerdesk.core import context
from sellerdesk.customers.routes import router as customers_router
from sellerdesk.tickets.routes import router as tickets_router
from sellerdesk.web import app as web

API_PREFIX = "/api/v1"


def create_app() -> FastAPI:
    """Build the ASGI app; the process context (core.context) must be initialised first."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await context.get().database.dispose()

    app = FastAPI(
        title="SellerDesk",
        version=__version__,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    errors.install(app, error_page=web.error_page)
    api = APIRouter(prefix=API_PREFIX, responses=errors.RESPONSES)
    api.include_router(tickets_router)
    api.include_router(customers_router)
    api.include_router(channels_router)
    api.include_router(sla_router)
    api.include_router(macros_router)
    api.include_router(rules_router)
    api.include_router(routing_router)
    api.include_router(empowerment_router)
    api.include_router(email_router)
    app.include_router(api)

    @app.get("/healthz", tags=["meta"])
    async def healthz(db: SessionDep) -> dict[str, str]:
        await db.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__}

    web.install(app)
    _register_inbound_schema(app)
    return app


def _register_inbound_schema(app: FastAPI) -> None:
    """POST /inbound reads its body raw (stored before parsing), so describe it by hand."""
    original = app.openapi

    def openapi() -> dict[str, object]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        defs = ApiInbound.model_json_schema(by_alias=True,
                                            ref_template="#/components/schemas/{model}")
        for name, sub in defs.pop("$defs", {}).items():
            components.setdefault(name, sub)
        components["ApiInbound"] = defs
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
