"""Who is signed in: the session cookie, CSRF checks, and the `CurrentUser` dependency."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response
from itsdangerous import BadSignature

from sellerdesk.accounts.errors import AccountError
from sellerdesk.accounts.models import Agent, Store, WebSession
from sellerdesk.accounts.permissions import Permission, Principal, Role, has_permission
from sellerdesk.accounts.signin import SESSION_LIFETIME, csrf_matches, session_agent
from sellerdesk.api.deps import SessionDep
from sellerdesk.automation.routing.models import AgentRouting
from sellerdesk.core import context, i18n
from sellerdesk.core.errors import Forbidden
from sellerdesk.web.cookies import CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE, signer
from sellerdesk.web.cookies import session_token as session_token  # re-exported
from sellerdesk.web.templating import Page

CSRF_COOKIE = "sd_csrf"  # double-submit token for forms shown before sign-in
LANGUAGE_COOKIE = "sd_lang"
CSRF_FIELD = "csrf_token"


class LoginRequired(Exception):
    """No live session: the browser is sent to the sign-in page, then back to `next_url`."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def _secure() -> bool:
    return context.get().settings.public_url.startswith("https://")


def set_session_cookie(response: Response, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, signer("session").sign(token).decode(),
                        max_age=int(SESSION_LIFETIME.total_seconds()), httponly=True,
                        samesite="lax", secure=_secure())


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE)


async def presented_csrf(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


@dataclass(frozen=True, slots=True)
class WebUser:
    agent: Agent
    store: Store
    session: WebSession
    page: Page
    availability: str  # online | away | offline (routing)

    @property
    def principal(self) -> Principal:
        return Principal(store_id=self.agent.store_id, role=Role(self.agent.role),
                         agent_id=self.agent.id)

    def can(self, permission: Permission) -> bool:
        return has_permission(Role(self.agent.role), permission)

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise Forbidden("access.forbidden",
                            self.page._("Your role may not do this."))


async def current_user(request: Request, db: SessionDep) -> WebUser:
    """The signed-in agent; unsafe methods must also present the session's CSRF token."""
    token = session_token(request)
    found = await session_agent(db, token=token) if token else None
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target if request.method in SAFE_METHODS else "/")
    session, agent = found
    page = Page(agent.language, agent.timezone, session.csrf_token)
    request.state.page = page  # error pages speak the agent's language too
    if request.method not in SAFE_METHODS and not csrf_matches(session,
                                                               await presented_csrf(request)):
        raise Forbidden(AccountError.BAD_CSRF,
                        page._("The form has expired. Reload the page and try again."))
    store = await db.get(Store, agent.store_id)
    assert store is not None  # noqa: S101 (agents.store_id is a foreign key)
    routing = await db.get(AgentRouting, agent.id)
    return WebUser(agent=agent, store=store, session=session, page=page,
                   availability=routing.availability if routing else "offline")


CurrentUser = Annotated[WebUser, Depends(current_user)]


def guest_language(request: Request) -> str:
    chosen = request.query_params.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
    if chosen in i18n.LANGUAGES:
        return chosen
    return i18n.negotiate(request.headers.get("accept-language"))


def guest_csrf(request: Request) -> str:
    """The double-submit token of a signed-out browser (kept in a signed cookie)."""
    raw = request.cookies.get(CSRF_COOKIE)
    if raw:
        try:
            return signer("csrf").unsign(raw).decode()
        except BadSignature:
            pass
    token: str = request.state.__dict__.setdefault("new_guest_csrf", secrets.token_urlsafe(32))
    return token


def remember_guest(request: Request, response: Response, language: str) -> None:
    """Store a new guest CSRF token and the chosen language in cookies."""
    new = request.state.__dict__.get("new_guest_csrf")
    if new:
        response.set_cookie(CSRF_COOKIE, signer("csrf").sign(new).decode(), httponly=True,
                            samesite="lax", secure=_secure())
    if request.query_params.get("lang") in i18n.LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 86400, samesite="lax",
                            secure=_secure())


async def check_guest_csrf(request: Request) -> bool:
    raw = request.cookies.get(CSRF_COOKIE)
    presented = await presented_csrf(request)
    if not raw or not presented:
        return False
    try:
        expected = signer("csrf").unsign(raw).decode()
    except BadSignature:
        return False
    return secrets.compare_digest(expected, presented)
