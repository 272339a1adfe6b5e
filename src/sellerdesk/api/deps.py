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
from sellerdesk.channels.models import Channel
from sellerdesk.core import context
from sellerdesk.core.errors import Unauthorized
from sellerdesk.core.security import hash_token


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


async def current_principal(request: Request, db: SessionDep) -> Principal:
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
