"""Sign in and out, password reset by mailed link, and the agent's own language and zone."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from sellerdesk.accounts import signin
from sellerdesk.accounts.actions import check_timezone
from sellerdesk.accounts.errors import AccountError
from sellerdesk.api.deps import SessionDep
from sellerdesk.automation.routing.actions import set_availability
from sellerdesk.core import i18n
from sellerdesk.core.actor import Actor
from sellerdesk.core.db import commit
from sellerdesk.core.errors import AppError, Invalid
from sellerdesk.tickets import audit
from sellerdesk.web.session import (
    CurrentUser,
    check_guest_csrf,
    clear_session_cookie,
    guest_csrf,
    guest_language,
    remember_guest,
    session_token,
    set_session_cookie,
)
from sellerdesk.web.templating import Page, render

router = APIRouter()

Text = Annotated[str, Form()]


def safe_next(value: str | None) -> str:
    """Only a path on this site: never an absolute or scheme-relative URL (open redirect)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/inbox"


def _guest_page(request: Request, name: str, context: dict[str, object] | None = None, *,
                status_code: int = 200) -> Response:
    language = guest_language(request)
    page = Page(language, "UTC", guest_csrf(request))
    response = render(request, page, name, context, status_code=status_code)
    remember_guest(request, response, language)
    return response


def _expired(request: Request, name: str, context: dict[str, object]) -> Response:
    page = Page(guest_language(request), "UTC", "")
    return _guest_page(request, name, {
        **context, "error": page._("The form has expired. Reload the page and try again.")},
        status_code=403)


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:  # noqa: A002
    return _guest_page(request, "auth/login.html", {"next": safe_next(next), "email": ""})


@router.post("/login")
async def login(request: Request, db: SessionDep, email: Text, password: Text,
                next: Annotated[str, Form()] = "/inbox") -> Response:  # noqa: A002
    context: dict[str, object] = {"next": safe_next(next), "email": email}
    if not await check_guest_csrf(request):
        return _expired(request, "auth/login.html", context)
    client = request.client.host if request.client else None
    try:
        signed = await signin.sign_in(db, email=email, password=password, ip=client)
    except signin.Locked as exc:
        page = Page(guest_language(request), "UTC", "")
        message = page.plural("Too many failed attempts. Try again in {n} minute.",
                              "Too many failed attempts. Try again in {n} minutes.", exc.minutes)
        return _guest_page(request, "auth/login.html", {**context, "error": message},
                           status_code=429)
    except AppError:
        page = Page(guest_language(request), "UTC", "")
        return _guest_page(request, "auth/login.html",
                           {**context, "error": page._("The email or password is wrong.")},
                           status_code=401)
    # Signing in to the workspace means being at work: new tickets may come (routing).
    await set_availability(db, agent_id=signed.agent.id, status="online",
                           actor=Actor("agent", signed.agent.id))
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(response, signed.token)
    return response


@router.post("/logout")
async def logout(request: Request, db: SessionDep, user: CurrentUser) -> Response:
    token = session_token(request)
    if token:
        await signin.sign_out(db, token=token)
    await set_availability(db, agent_id=user.agent.id, status="offline",
                           actor=user.principal.actor)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response)
    return response


@router.get("/password/forgot")
async def forgot_form(request: Request) -> Response:
    return _guest_page(request, "auth/forgot.html", {"email": "", "sent": False})


@router.post("/password/forgot")
async def forgot(request: Request, db: SessionDep, email: Text) -> Response:
    if not await check_guest_csrf(request):
        return _expired(request, "auth/forgot.html", {"email": email, "sent": False})
    await signin.request_password_reset(db, email=email)
    # The same answer whether or not the address is known.
    return _guest_page(request, "auth/forgot.html", {"email": email, "sent": True})


@router.get("/password/reset/{token}")
async def reset_form(request: Request, db: SessionDep, token: str) -> Response:
    try:
        await signin.reset_target(db, token=token)
    except AppError:
        return _guest_page(request, "auth/reset.html", {"token": token, "invalid": True},
                           status_code=404)
    return _guest_page(request, "auth/reset.html", {"token": token, "invalid": False})


@router.post("/password/reset/{token}")
async def reset(request: Request, db: SessionDep, token: str, password: Text,
                confirm: Text) -> Response:
    context: dict[str, object] = {"token": token, "invalid": False}
    if not await check_guest_csrf(request):
        return _expired(request, "auth/reset.html", context)
    page = Page(guest_language(request), "UTC", "")
    if password != confirm:
        return _guest_page(request, "auth/reset.html",
                           {**context, "error": page._("The two passwords differ.")},
                           status_code=422)
    try:
        await signin.reset_password(db, token=token, password=password)
    except AppError as exc:
        if exc.code == AccountError.WEAK_PASSWORD:
            error = page._("The password needs at least {n} characters.",
                           n=signin.MIN_PASSWORD_LENGTH)
            return _guest_page(request, "auth/reset.html", {**context, "error": error},
                               status_code=422)
        return _guest_page(request, "auth/reset.html", {**context, "invalid": True},
                           status_code=404)
    return RedirectResponse("/login?reset=1", status_code=303)


@router.post("/me/availability")
async def availability(request: Request, db: SessionDep, user: CurrentUser,
                       status: Text) -> Response:
    """Online, away or offline, from the selector in the top bar."""
    try:
        await set_availability(db, agent_id=user.agent.id, status=status,
                               actor=user.principal.actor)
    except AppError:
        return Response(user.page._("Choose online, away or offline."), status_code=422)
    if request.headers.get("hx-request") == "true":
        return Response(status_code=204)
    return RedirectResponse(request.headers.get("referer") or "/inbox", status_code=303)


@router.get("/profile")
async def profile_form(request: Request, user: CurrentUser) -> Response:
    return render(request, user.page, "auth/profile.html", {"user": user, "saved": False})


@router.post("/profile")
async def profile(request: Request, db: SessionDep, user: CurrentUser, language: Text,
                  timezone: Text) -> Response:
    try:
        if language not in i18n.LANGUAGES:
            raise Invalid("agent.invalid_language", "unknown language", field="language")
        check_timezone(timezone)
    except AppError as exc:
        field = exc.field or "language"
        error = user.page._("Choose a language from the list.") if field == "language" else \
            user.page._("{zone} is not a time zone such as Europe/Warsaw.", zone=timezone)
        return render(request, user.page, "auth/profile.html",
                      {"user": user, "saved": False, "error": error}, status_code=422)
    agent = user.agent
    before = {"language": agent.language, "timezone": agent.timezone}
    agent.language, agent.timezone = language, timezone
    audit.record(db, store_id=agent.store_id, actor=user.principal.actor, entity_type="agent",
                 entity_id=agent.id, action="agent.profile_updated", before=before,
                 after={"language": language, "timezone": timezone})
    await commit(db)
    return RedirectResponse("/profile?saved=1", status_code=303)
