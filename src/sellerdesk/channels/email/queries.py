"""Reads on email accounts: by id within a store, by channel, by the address mail is sent to."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.channels.email.models import EmailAccount
from sellerdesk.core.errors import NotFound


def mailbox_address(address: str) -> str:
    """The mailbox an address delivers to: lowercased, without its `+tag` (support+t12@…)."""
    local, at, domain = address.strip().strip("<>").rpartition("@")
    if not at:
        return address.strip().lower()
    local = local.split("+", 1)[0]
    return f"{local}@{domain}".lower()


async def get_account(db: AsyncSession, *, store_id: int, account_id: int) -> EmailAccount:
    account = (await db.execute(
        select(EmailAccount).where(EmailAccount.id == account_id,
                                   EmailAccount.store_id == store_id)
    )).scalar_one_or_none()
    if account is None:
        raise NotFound("email_account.not_found", f"email account {account_id} not found",
                       field="account_id")
    return account


async def store_accounts(db: AsyncSession, *, store_id: int) -> list[EmailAccount]:
    rows = await db.execute(
        select(EmailAccount).where(EmailAccount.store_id == store_id).order_by(EmailAccount.id)
    )
    return list(rows.scalars())


async def account_for_channel(db: AsyncSession, *, channel_id: int) -> EmailAccount | None:
    """The active account a channel sends through (the oldest, if there are several)."""
    return (await db.execute(
        select(EmailAccount)
        .where(EmailAccount.channel_id == channel_id, EmailAccount.is_active.is_(True))
        .order_by(EmailAccount.id).limit(1)
    )).scalar_one_or_none()


async def receiving_account(db: AsyncSession, *, address: str) -> EmailAccount | None:
    """The active account mail to `address` belongs to.

    Stores are separate tenants that might both list the same address; the account that
    claimed it first keeps receiving it, so a later store can never divert another's mail.
    """
    return (await db.execute(
        select(EmailAccount)
        .where(EmailAccount.address == mailbox_address(address),
               EmailAccount.is_active.is_(True))
        .order_by(EmailAccount.id).limit(1)
    )).scalar_one_or_none()
