"""FastAPI dependencies: the session, who is calling, and what they may do."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.errors import AccountError
from sellerdesk.accounts.models import ApiToken
from sellerdesk.accounts.permissions import Permission, Principal, Role, require
from sellerdesk.accounts.signin import csrf_matches, session_agent
from sellerdesk.channels.models import Channel
from sellerdesk.core import context
from sellerdesk.core.errors import Forbidden, Unauthorized
from sellerdesk.core.security import hash_token
from sellerdesk.web.cookies import CSRF_HEADER, SAFE_METHODS, session_token


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    database = context.get().database
    reader = request.method in ("GET", "HEAD")
    async with (database.read_sessionmaker if reader else database.sessionmaker)() as db:
        yield db


SessionDep = Annotated[AsyncSession, Depends(get_db)]


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(AccountError.MISSING_TOKEN,
                           "send 'Authorization: Bearer <token>'", field="Authorization")
    return token.strip()


async def _session_principal(request: Request, db: AsyncSession) -> Principal | None:
    """A signed-in workspace browser calling the API with its session cookie instead of a
    token; a writing request must also send the session's CSRF token in X-CSRF-Token."""
    token = session_token(request)
    found = await session_agent(db, token=token) if token else None
    if found is None:
        return None
    session, agent = found
    if request.method not in SAFE_METHODS and not csrf_matches(
            session, request.headers.get(CSRF_HEADER)):
        raise Forbidden(AccountError.BAD_CSRF,
                        "a browser session must send its CSRF token in X-CSRF-Token",
                        field="X-CSRF-Token")
    return Principal(store_id=agent.store_id, role=Role(agent.role), agent_id=agent.id)


async def current_principal(request: Request, db: SessionDep) -> Principal:
    if "authorization" not in request.headers:
        principal = await _session_principal(request, db)
        if principal is not None:
            return principal
    token = _bearer(request)
    row = (await db.execute(
        select(ApiToken).where(ApiToken.token_hash == hash_token(token),
                               ApiToken.revoked_at.is_(None))
    )).scalar_one_or_none()
    if row is None:
        raise Unauthorized(AccountError.INVALID_TOKEN, "the token is unknown or revoked",
                           field="Authorization")
    return Principal(store_id=row.store_id, role=Role(row.role), agent_id=row.agent_id,
                     token_id=row.id)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def permitted(
    permission: Permission,
) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    """A dependency that returns the caller if their role grants `permission`."""

    async def check(principal: CurrentPrincipal) -> Principal:
        require(principal, permission)
        return principal

    return check


async def current_channel(request: Request, db: SessionDep) -> Channel:
    token = _bearer(request)
    channel = (await db.execute(
        select(Channel).where(Channel.token_hash == hash_token(token),
                              Channel.is_active.is_(True))
    )).scalar_one_or_none()
    if channel is None:
        raise Unauthorized(AccountError.INVALID_TOKEN,
                           "the channel token is unknown or the channel is inactive",
                           field="Authorization")
    return channel


CurrentChannel = Annotated[Channel, Depends(current_channel)]

CanReadTickets = Annotated[Principal, Depends(permitted(Permission.TICKET_READ))]
CanUpdateTickets = Annotated[Principal, Depends(permitted(Permission.TICKET_UPDATE))]
CanReply = Annotated[Principal, Depends(permitted(Permission.TICKET_REPLY))]
CanNote = Annotated[Principal, Depends(permitted(Permission.TICKET_NOTE))]
CanMergeTickets = Annotated[Principal, Depends(permitted(Permission.TICKET_MERGE))]
CanReadCustomers = Annotated[Principal, Depends(permitted(Permission.CUSTOMER_READ))]
CanUpdateCustomers = Annotated[Principal, Depends(permitted(Permission.CUSTOMER_UPDATE))]
CanMergeCustomers = Annotated[Principal, Depends(permitted(Permission.CUSTOMER_MERGE))]
CanReadAudit = Annotated[Principal, Depends(permitted(Permission.AUDIT_READ))]
CanManageQuarantine = Annotated[Principal, Depends(permitted(Permission.QUARANTINE_MANAGE))]
