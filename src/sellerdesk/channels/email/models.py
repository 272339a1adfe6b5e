"""Mailboxes SellerDesk reads (IMAP) and sends through (SMTP), and their fetch state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sellerdesk.core.db import Base, BigId, CreatedAt, IdPK


class EmailAccount(Base):
    """One support mailbox of a store. Secrets are sealed with core.crypto, never plain."""

    __tablename__ = "email_accounts"
    __table_args__ = (UniqueConstraint("store_id", "address"),)

    id: Mapped[IdPK]
    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"), index=True)
    channel_id: Mapped[int] = mapped_column(BigId, ForeignKey("channels.id"), index=True)
    address: Mapped[str] = mapped_column(String(320))
    display_name: Mapped[str | None] = mapped_column(String(200), default=None)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    # Reading: IMAP (optional: a store may only forward mail to the SMTP listener).
    imap_host: Mapped[str | None] = mapped_column(String(255), default=None)
    imap_port: Mapped[int | None] = mapped_column(Integer, default=None)
    imap_security: Mapped[str] = mapped_column(String(16), default="ssl")  # ssl|starttls|none
    imap_username: Mapped[str | None] = mapped_column(String(320), default=None)
    imap_folder: Mapped[str] = mapped_column(String(255), default="INBOX")
    processed_folder: Mapped[str | None] = mapped_column(String(255), default=None)
    auth_method: Mapped[str] = mapped_column(String(16), default="password")  # password|oauth2
    password_sealed: Mapped[str | None] = mapped_column(Text, default=None)

    # OAuth2 (XOAUTH2) for Google Workspace / Microsoft 365.
    oauth_provider: Mapped[str | None] = mapped_column(String(32), default=None)
    oauth_client_id: Mapped[str | None] = mapped_column(String(255), default=None)
    oauth_client_secret_sealed: Mapped[str | None] = mapped_column(Text, default=None)
    oauth_authorize_url: Mapped[str | None] = mapped_column(String(500), default=None)
    oauth_token_url: Mapped[str | None] = mapped_column(String(500), default=None)
    oauth_scopes: Mapped[str | None] = mapped_column(String(500), default=None)
    oauth_refresh_token_sealed: Mapped[str | None] = mapped_column(Text, default=None)
    oauth_access_token_sealed: Mapped[str | None] = mapped_column(Text, default=None)
    oauth_expires_at: Mapped[datetime | None] = mapped_column(default=None)

    # Sending: SMTP.
    smtp_host: Mapped[str | None] = mapped_column(String(255), default=None)
    smtp_port: Mapped[int | None] = mapped_column(Integer, default=None)
    smtp_security: Mapped[str] = mapped_column(String(16), default="starttls")  # ssl|starttls|none
    smtp_username: Mapped[str | None] = mapped_column(String(320), default=None)
    smtp_password_sealed: Mapped[str | None] = mapped_column(Text, default=None)

    # Fetch state: a UID is only trusted under the UIDVALIDITY it was seen with.
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger, default=None)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    last_checked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[CreatedAt]
