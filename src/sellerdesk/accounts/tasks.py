"""Jobs of the accounts domain: mail to agents."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Agent, PasswordReset, Store
from sellerdesk.channels.base import DeliveryError
from sellerdesk.channels.email.notices import NoMailAccount, send_notice
from sellerdesk.core import context
from sellerdesk.core.clock import now
from sellerdesk.core.crypto import unseal
from sellerdesk.core.i18n import translate
from sellerdesk.jobs.registry import RetryLater, job

log = logging.getLogger(__name__)


@job("accounts.password_reset_mail")
async def password_reset_mail(db: AsyncSession, *, reset_id: int, sealed_token: str) -> None:
    """The reset link, in the agent's language, through the store's mail account."""
    reset = await db.get(PasswordReset, reset_id)
    if reset is None or reset.used_at is not None or reset.expires_at <= now():
        return
    agent = await db.get(Agent, reset.agent_id)
    if agent is None:
        return
    link = f"{context.get().settings.public_url}/password/reset/{unseal(sealed_token)}"
    lang = agent.language
    text = "\n\n".join([
        translate(lang, "Hello {name},", name=agent.name),
        translate(lang, "Someone asked to reset your SellerDesk password. "
                        "To choose a new one, open this link within an hour:"),
        link,
        translate(lang, "If it was not you, ignore this message; your password stays as it is."),
    ])
    try:
        await send_notice(db, store_id=agent.store_id, to_address=agent.email, to_name=agent.name,
                          subject=translate(lang, "Reset your SellerDesk password"), text=text)
    except NoMailAccount as exc:
        # Nothing to retry with: the admin has to add a mail account (or set the password).
        log.warning("password reset for agent %s not sent: %s", agent.id, exc)
    except DeliveryError as exc:
        if exc.retryable:
            raise RetryLater(exc.reason) from exc
        log.warning("password reset for agent %s refused: %s", agent.id, exc.reason)


@job("accounts.invitation_mail")
async def invitation_mail(db: AsyncSession, *, reset_id: int, sealed_token: str) -> None:
    """The invitation to choose a password and sign in, in the invitee's language."""
    reset = await db.get(PasswordReset, reset_id)
    if reset is None or reset.used_at is not None or reset.expires_at <= now():
        return
    agent = await db.get(Agent, reset.agent_id)
    store = await db.get(Store, agent.store_id) if agent is not None else None
    if agent is None or store is None or not agent.is_active:
        return
    link = f"{context.get().settings.public_url}/password/reset/{unseal(sealed_token)}"
    lang = agent.language
    text = "\n\n".join([
        translate(lang, "Hello {name},", name=agent.name),
        translate(lang, "You have been invited to answer the customers of {store} in SellerDesk. "
                        "To choose your password, open this link within 7 days:",
                  store=store.name),
        link,
        translate(lang, "Then sign in with this address: {email}", email=agent.email),
    ])
    try:
        await send_notice(db, store_id=agent.store_id, to_address=agent.email, to_name=agent.name,
                          subject=translate(lang, "Your invitation to {store} on SellerDesk",
                                            store=store.name),
                          text=text)
    except NoMailAccount as exc:
        # The admin sees the agent as invited and can send the link again once mail works.
        log.warning("invitation for agent %s not sent: %s", agent.id, exc)
    except DeliveryError as exc:
        if exc.retryable:
            raise RetryLater(exc.reason) from exc
        log.warning("invitation for agent %s refused: %s", agent.id, exc.reason)
