"""The signed session cookie of the workspace, read by the pages and by the REST API (which a
signed-in browser may call with its session instead of a bearer token)."""

from __future__ import annotations

from itsdangerous import BadSignature, Signer
from starlette.requests import HTTPConnection

from sellerdesk.core import context

SESSION_COOKIE = "sd_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def signer(purpose: str) -> Signer:
    return Signer(context.get().settings.resolved_secret_key(), salt=f"sellerdesk.{purpose}")


def session_token(request: HTTPConnection) -> str | None:
    """The session token from the cookie, or None when absent or its signature is wrong."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        return signer("session").unsign(raw).decode()
    except BadSignature:
        return None
