"""Mail SellerDesk writes to agents (password resets, invitations), sent through the store's own
mail account: a self-hosted install has no mail server of its own."""

from __future__ import annotations

from email.utils import make_msgid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.channels.email.adapter import smtp_server
from sellerdesk.channels.email.models import EmailAccount
from sellerdesk.channels.email.smtp_out import build_message, send_message


class NoMailAccount(Exception):
    """The store has no active email account that can send."""


async def sending_account(db: AsyncSession, *, store_id: int) -> EmailAccount | None:
    return (await db.execute(
        select(EmailAccount).where(EmailAccount.store_id == store_id,
                                   EmailAccount.is_active.is_(True),
                                   EmailAccount.smtp_host.is_not(None))
        .order_by(EmailAccount.id).limit(1)
    )).scalar_one_or_none()


async def send_notice(db: AsyncSession, *, store_id: int, to_address: str, to_name: str | None,
                      subject: str, text: str) -> None:
    """Send a plain notice; raises NoMailAccount, or DeliveryError from the SMTP server."""
    account = await sending_account(db, store_id=store_id)
    if account is None:
        raise NoMailAccount(f"store {store_id} has no active email account with an SMTP server")
    domain = account.address.rpartition("@")[2] or "sellerdesk.invalid"
    message = build_message(
        from_address=account.address, from_name=account.display_name, to_address=to_address,
        to_name=to_name, subject=subject, message_id=make_msgid(domain=domain), text=text,
        html_body=None, attachments=(), references=(), plain_only=True,
    )
    await send_message(message, await smtp_server(db, account), sender=account.address,
                       recipients=[to_address])
