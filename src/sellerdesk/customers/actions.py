"""Writes on customers: finding or creating them from identities, updates, merges."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.channels.base import IdentityKind, SenderIdentity
from sellerdesk.core.actor import Actor
from sellerdesk.core.db import commit
from sellerdesk.core.errors import Conflict
from sellerdesk.customers.errors import CustomerError
from sellerdesk.customers.models import Customer, CustomerIdentity
from sellerdesk.tickets import audit
from sellerdesk.tickets.models import Ticket


async def resolve_identity(
    db: AsyncSession, *, store_id: int, sender: SenderIdentity, language: str | None = None
) -> Customer:
    """The customer behind an identity, created with that identity if it is new (no commit)."""
    row = await db.execute(
        select(Customer)
        .join(CustomerIdentity, CustomerIdentity.customer_id == Customer.id)
        .where(
            CustomerIdentity.store_id == store_id,
            CustomerIdentity.kind == sender.kind.value,
            CustomerIdentity.value == sender.value,
        )
    )
    customer = row.scalar_one_or_none()
    if customer is not None:
        return await _follow_merges(db, customer)
    customer = Customer(
        store_id=store_id,
        name=sender.name,
        email=sender.value if sender.kind is IdentityKind.EMAIL else None,
        language=language,
    )
    db.add(customer)
    await db.flush()
    db.add(
        CustomerIdentity(
            store_id=store_id,
            customer_id=customer.id,
            kind=sender.kind.value,
            value=sender.value,
            display_name=sender.name,
        )
    )
    return customer


async def _follow_merges(db: AsyncSession, customer: Customer) -> Customer:
    seen = {customer.id}
    while customer.merged_into_id is not None:
        target = await db.get(Customer, customer.merged_into_id)
        if target is None or target.id in seen:
            break
        seen.add(target.id)
        customer = target
    return customer


def _snapshot(customer: Customer) -> dict[str, Any]:
    return {
        "name": customer.name,
        "email": customer.email,
        "language": customer.language,
        "note": customer.note,
    }


async def update_customer(
    db: AsyncSession, *, customer: Customer, actor: Actor, changes: dict[str, Any]
) -> Customer:
    """Apply field changes, record them in the audit trail, commit."""
    before = _snapshot(customer)
    for key, value in changes.items():
        setattr(customer, key, value)
    old, new = audit.diff(before, _snapshot(customer))
    if new:
        audit.record(
            db, store_id=customer.store_id, actor=actor, entity_type="customer",
            entity_id=customer.id, action="customer.updated", before=old, after=new,
        )
    await commit(db)
    return customer


async def merge_customers(
    db: AsyncSession, *, source: Customer, target: Customer, actor: Actor
) -> Customer:
    """Move identities and tickets of source to target; source points to target from now on."""
    if source.id == target.id:
        raise Conflict(CustomerError.MERGE_SELF, "a customer cannot be merged into itself",
                       field="into_customer_id")
    if source.merged_into_id is not None or target.merged_into_id is not None:
        raise Conflict(CustomerError.ALREADY_MERGED, "one of the customers was already merged",
                       field="into_customer_id")
    identity_ids = list(
        (await db.execute(
            select(CustomerIdentity.id).where(CustomerIdentity.customer_id == source.id)
        )).scalars()
    )
    ticket_ids = list(
        (await db.execute(select(Ticket.id).where(Ticket.customer_id == source.id))).scalars()
    )
    await db.execute(
        update(CustomerIdentity)
        .where(CustomerIdentity.customer_id == source.id)
        .values(customer_id=target.id)
    )
    await db.execute(
        update(Ticket).where(Ticket.customer_id == source.id).values(customer_id=target.id)
    )
    source.merged_into_id = target.id
    for field in ("name", "email", "language"):
        if getattr(target, field) is None and getattr(source, field) is not None:
            setattr(target, field, getattr(source, field))
    audit.record(
        db, store_id=source.store_id, actor=actor, entity_type="customer", entity_id=source.id,
        action="customer.merged", before={"merged_into_id": None},
        after={"merged_into_id": target.id, "identity_ids": identity_ids,
               "ticket_ids": ticket_ids},
    )
    audit.record(
        db, store_id=target.store_id, actor=actor, entity_type="customer", entity_id=target.id,
        action="customer.merge_received", after={"from_customer_id": source.id},
    )
    await commit(db)
    return target
