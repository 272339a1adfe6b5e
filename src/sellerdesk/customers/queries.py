"""Reads on customers, scoped to a store."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.core.errors import NotFound
from sellerdesk.customers.errors import CustomerError
from sellerdesk.customers.models import Customer, CustomerIdentity


async def get_customer(
    db: AsyncSession, *, store_id: int, customer_id: int, field: str = "customer_id"
) -> Customer:
    customer = (await db.execute(
        select(Customer).where(Customer.id == customer_id, Customer.store_id == store_id)
    )).scalar_one_or_none()
    if customer is None:
        raise NotFound(CustomerError.NOT_FOUND, f"customer {customer_id} not found",
                       field=field)
    return customer


async def identities(db: AsyncSession, *, customer_id: int) -> list[CustomerIdentity]:
    rows = await db.execute(
        select(CustomerIdentity).where(CustomerIdentity.customer_id == customer_id)
        .order_by(CustomerIdentity.id)
    )
    return list(rows.scalars())
