"""Writes on email accounts: set-up and changes, secrets sealed before they touch the database."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.actions import create_channel
from sellerdesk.channels.email.models import EmailAccount
from sellerdesk.channels.models import Channel
from sellerdesk.core.actor import SYSTEM, Actor
from sellerdesk.core.crypto import seal
from sellerdesk.core.db import commit
from sellerdesk.core.errors import Conflict, Invalid
from sellerdesk.tickets import audit


class EmailAccountError(StrEnum):
    INVALID_ADDRESS = "email_account.invalid_address"
    ADDRESS_TAKEN = "email_account.address_taken"
    INVALID_FIELD = "email_account.invalid_field"
    UNKNOWN_FIELD = "email_account.unknown_field"
    WRONG_CHANNEL = "email_account.wrong_channel"


_ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")
_SECURITY = ("ssl", "starttls", "none")
_AUTH_METHODS = ("password", "oauth2")

# Plain settings a caller may change, with their column's length limit (None: not a string).
_PLAIN: dict[str, int | None] = {
    "display_name": 200, "is_active": None,
    "imap_host": 255, "imap_port": None, "imap_security": None, "imap_username": 320,
    "imap_folder": 255, "processed_folder": 255, "auth_method": None,
    "oauth_provider": 32, "oauth_client_id": 255, "oauth_authorize_url": 500,
    "oauth_token_url": 500, "oauth_scopes": 500,
    "smtp_host": 255, "smtp_port": None, "smtp_security": None, "smtp_username": 320,
}
# Secrets arrive plain under these names and are stored only sealed, in the column named.
_SECRETS = {
    "password": "password_sealed",
    "smtp_password": "smtp_password_sealed",
    "oauth_client_secret": "oauth_client_secret_sealed",
    "oauth_refresh_token": "oauth_refresh_token_sealed",
    "oauth_access_token": "oauth_access_token_sealed",
}


def normalize_address(address: str) -> str:
    value = address.strip().lower()
    if len(value) > 320 or not _ADDRESS.match(value) or "+" in value.split("@", 1)[0]:
        raise Invalid(EmailAccountError.INVALID_ADDRESS,
                      f"{address!r} is not a mailbox address like support@shop.example",
                      field="address")
    return value


def _check(name: str, value: Any) -> None:
    def bad(sentence: str) -> Invalid:
        return Invalid(EmailAccountError.INVALID_FIELD, f"{name} {sentence}", field=name)

    if value is None:
        if name in ("is_active", "imap_security", "smtp_security", "auth_method", "imap_folder"):
            raise bad("must not be empty")
        return
    if name.endswith("_security") and value not in _SECURITY:
        raise bad(f"must be one of {', '.join(_SECURITY)}")
    if name == "auth_method" and value not in _AUTH_METHODS:
        raise bad(f"must be one of {', '.join(_AUTH_METHODS)}")
    if name.endswith("_port") and (
        isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535
    ):
        raise bad("must be a port number from 1 to 65535")
    if name == "is_active" and not isinstance(value, bool):
        raise bad("must be true or false")
    limit = _PLAIN.get(name)
    if limit is not None and (not isinstance(value, str) or len(value) > limit):
        raise bad(f"must be text of at most {limit} characters")
    if name in _SECRETS and (not isinstance(value, str) or not value or len(value) > 4096):
        raise bad("must be non-empty text of at most 4096 characters")


def _apply(account: EmailAccount, changes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate and set every change; return the audit's before/after, secrets masked."""
    unknown = sorted(set(changes) - set(_PLAIN) - set(_SECRETS))
    if unknown:
        raise Invalid(EmailAccountError.UNKNOWN_FIELD,
                      f"{unknown[0]} is not a setting of an email account", field=unknown[0])
    for name, value in changes.items():
        _check(name, value)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for name, value in changes.items():
        if name in _SECRETS:
            column = _SECRETS[name]
            had = getattr(account, column) is not None
            setattr(account, column, seal(value) if value is not None else None)
            # The audit trail says that a secret changed, never what it is.
            before[name] = "set" if had else None
            after[name] = "changed" if value is not None else None
            continue
        if getattr(account, name) != value:
            before[name] = getattr(account, name)
            after[name] = value
            setattr(account, name, value)
    return before, after


async def _email_channel(db: AsyncSession, store_id: int, channel_id: int) -> Channel:
    channel = await db.get(Channel, channel_id)
    if channel is None or channel.store_id != store_id or channel.type != "email":
        raise Invalid(EmailAccountError.WRONG_CHANNEL,
                      f"channel {channel_id} is not an email channel of this store",
                      field="channel_id")
    return channel


async def create_account(
    db: AsyncSession,
    *,
    store_id: int,
    address: str,
    channel_id: int | None = None,
    actor: Actor = SYSTEM,
    **settings: Any,
) -> EmailAccount:
    """Add a mailbox to a store (with a new email channel unless one is given); commit.

    `settings` are the account's columns (imap_host, smtp_port, ...) and its secrets in plain
    (password, smtp_password, oauth_client_secret, ...), which are sealed before storing.
    """
    value = normalize_address(address)
    taken = await db.scalar(select(EmailAccount.id).where(
        EmailAccount.store_id == store_id, EmailAccount.address == value))
    if taken is not None:
        raise Conflict(EmailAccountError.ADDRESS_TAKEN,
                       f"this store already has a mailbox {value}", field="address")
    probe = EmailAccount(store_id=store_id, channel_id=0, address=value,
                         imap_security="ssl", smtp_security="starttls",
                         auth_method="password", imap_folder="INBOX", is_active=True)
    _, after = _apply(probe, settings)  # validates everything before anything is written
    if channel_id is not None:
        channel = await _email_channel(db, store_id, channel_id)
    else:
        channel, _ = await create_channel(db, store_id=store_id, type="email",
                                          name=settings.get("display_name") or value,
                                          actor=actor)
    probe.channel_id = channel.id
    db.add(probe)
    await db.flush()
    audit.record(db, store_id=store_id, actor=actor, entity_type="email_account",
                 entity_id=probe.id, action="email_account.created",
                 after={"address": value, "channel_id": channel.id, **after})
    await commit(db)
    return probe


async def update_account(
    db: AsyncSession, *, account: EmailAccount, changes: dict[str, Any], actor: Actor = SYSTEM
) -> EmailAccount:
    """Change an account's settings or secrets (a secret given as None is removed); commit."""
    before, after = _apply(account, changes)
    if after or before:
        audit.record(db, store_id=account.store_id, actor=actor, entity_type="email_account",
                     entity_id=account.id, action="email_account.updated",
                     before=before, after=after)
    await commit(db)
    return account
