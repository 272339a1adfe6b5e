"""Mounts the workspace on the FastAPI app: pages, static files, sign-in redirects, error pages."""

from __future__ import annotations

from importlib import resources
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from sellerdesk.core.i18n import N_
from sellerdesk.realtime import gateway
from sellerdesk.web.routes import auth, automation, empowerment
from sellerdesk.web.routes.admin import router as admin_router
from sellerdesk.web.routes.inbox import router as inbox_router
from sellerdesk.web.routes.search import router as search_router
from sellerdesk.web.routes.tickets import router as tickets_router
from sellerdesk.web.session import LoginRequired, guest_csrf, guest_language
from sellerdesk.web.templating import Page, render

router = APIRouter(include_in_schema=False)
router.include_router(auth.router)
router.include_router(admin_router)
router.include_router(automation.router)
router.include_router(empowerment.router)
router.include_router(gateway.router)
router.include_router(tickets_router)
router.include_router(inbox_router)
router.include_router(search_router)


@router.get("/")
async def home() -> Response:
    return RedirectResponse("/inbox", status_code=303)


_TITLES = {
    401: N_("Please sign in"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    409: N_("That cannot be done now"),
    413: N_("Too large"),
    422: N_("That did not work"),
    429: N_("Too many attempts"),
}
_MESSAGES = {
    401: N_("Your session has ended. Sign in again."),
    403: N_("Your role does not allow this, or the form has expired. "
            "Reload the page and try again."),
    404: N_("This page or ticket does not exist in your store."),
    409: N_("Someone changed this in the meantime. Reload the page and try again."),
    413: N_("The file or message is too large."),
    422: N_("Some of what was sent is not valid. Check the form and try again."),
    429: N_("Too many attempts. Wait a little and try again."),
}


async def error_page(request: Request, status: int, code: str, _message: str) -> Response:
    # The signed-in agent's language and zone when the error came after sign-in was checked.
    signed_in = getattr(request.state, "page", None)
    page = signed_in if isinstance(signed_in, Page) else Page(
        guest_language(request), "UTC", guest_csrf(request))
    title = page._(_TITLES.get(status, N_("Something went wrong")))
    message = page._(_MESSAGES.get(status, N_("Please try again in a moment.")))
    headers = {"X-Error-Code": code}
    if request.headers.get("hx-request") == "true":
        return HTMLResponse(f'<p class="error" role="alert">{_escape(message)}</p>',
                            status_code=status, headers=headers)
    return render(request, page, "error.html", {"title": title, "message": message},
                  status_code=status, headers=headers)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)  # noqa: S101 (registered for this type only)
    target = "/login"
    if exc.next_url != "/inbox":
        target += f"?next={quote(exc.next_url, safe='/')}"
    if request.headers.get("hx-request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def install(app: FastAPI) -> None:
    static = resources.files("sellerdesk") / "web" / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    app.add_exception_handler(LoginRequired, _login_required)
    app.include_router(router)
