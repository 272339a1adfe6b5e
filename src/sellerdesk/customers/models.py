"""Customers and the identities (email, phone, chat, marketplace, social) that lead to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sellerdesk.core.clock import now
from sellerdesk.core.db import Base, BigId, CreatedAt, IdPK


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[IdPK]
    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(200), default=None)
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    merged_into_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("customers.id"), default=None
    )
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)


class CustomerIdentity(Base):
    """One way to reach a customer; (store, kind, value) points to exactly one customer."""

    __tablename__ = "customer_identities"
    __table_args__ = (UniqueConstraint("store_id", "kind", "value"),)

    id: Mapped[IdPK]
    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"))
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(320))
    display_name: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[CreatedAt]
