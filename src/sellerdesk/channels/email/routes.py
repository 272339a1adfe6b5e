"""HTTP routes for connecting a mailbox with OAuth2: the consent URL and the provider's callback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.permissions import Permission, Principal
from sellerdesk.api.deps import SessionDep, permitted
from sellerdesk.channels.email import oauth, queries
from sellerdesk.core import context
from sellerdesk.core.ids import IdPath

router = APIRouter(tags=["email"])

CanManageSettings = Annotated[Principal, Depends(permitted(Permission.SETTINGS_MANAGE))]


async def get_write_db() -> AsyncIterator[AsyncSession]:
    """A writing session for the callback, which is a GET (the provider redirects a browser)
    but stores tokens: GETs otherwise get read-only sessions."""
    async with context.get().database.sessionmaker() as db:
        yield db


WriteSessionDep = Annotated[AsyncSession, Depends(get_write_db)]


class OAuthStart(BaseModel):
    authorize_url: str


class OAuthConnected(BaseModel):
    account_id: int
    address: str
    status: str = "connected"


@router.get("/email-accounts/{account_id}/oauth/start", response_model=OAuthStart)
async def oauth_start(account_id: IdPath, db: SessionDep, principal: CanManageSettings
                      ) -> OAuthStart:
    """The provider's consent page for this mailbox: open it in the mailbox owner's browser."""
    account = await queries.get_account(db, store_id=principal.store_id, account_id=account_id)
    return OAuthStart(authorize_url=oauth.authorize_url(account, actor=principal.actor))


@router.get("/email/oauth/callback", response_model=OAuthConnected)
async def oauth_callback(
    db: WriteSessionDep,
    state: Annotated[str, Query(min_length=1, max_length=4096)],
    code: Annotated[str | None, Query(max_length=4096)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
    error_description: Annotated[str | None, Query(max_length=1000)] = None,
) -> OAuthConnected:
    """Where the provider sends the browser back after consent (authenticated by `state`)."""
    found = oauth.read_state(state)
    account = await queries.get_account(db, store_id=found.store_id,
                                        account_id=found.account_id)
    if error is not None or not code:
        raise await oauth.consent_refused(db, account=account, error=error or "no code",
                                          description=error_description)
    await oauth.complete_authorization(db, account=account, code=code, verifier=found.verifier,
                                       actor=found.actor)
    return OAuthConnected(account_id=account.id, address=account.address)
