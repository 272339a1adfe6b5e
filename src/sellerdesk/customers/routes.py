"""HTTP routes for customers (thin)."""

from __future__ import annotations

from fastapi import APIRouter

from sellerdesk.api.deps import CanMergeCustomers, CanReadCustomers, CanUpdateCustomers, SessionDep
from sellerdesk.core.ids import IdPath
from sellerdesk.customers import actions, queries
from sellerdesk.customers.models import Customer
from sellerdesk.customers.schemas import CustomerMerge, CustomerRead, CustomerUpdate, IdentityRead

router = APIRouter(tags=["customers"])


async def _read(db: SessionDep, customer: Customer) -> CustomerRead:
    read = CustomerRead.model_validate(customer)
    read.identities = [IdentityRead.model_validate(i)
                       for i in await queries.identities(db, customer_id=customer.id)]
    return read


@router.get("/customers/{customer_id}", response_model=CustomerRead)
async def get_customer(
    customer_id: IdPath, db: SessionDep, principal: CanReadCustomers
) -> CustomerRead:
    customer = await queries.get_customer(db, store_id=principal.store_id,
                                          customer_id=customer_id)
    return await _read(db, customer)


@router.patch("/customers/{customer_id}", response_model=CustomerRead)
async def update_customer(
    customer_id: IdPath, body: CustomerUpdate, db: SessionDep, principal: CanUpdateCustomers
) -> CustomerRead:
    customer = await queries.get_customer(db, store_id=principal.store_id,
                                          customer_id=customer_id)
    customer = await actions.update_customer(db, customer=customer, actor=principal.actor,
                                             changes=body.changes())
    return await _read(db, customer)


@router.post("/customers/{customer_id}/merge", response_model=CustomerRead)
async def merge_customer(
    customer_id: IdPath, body: CustomerMerge, db: SessionDep, principal: CanMergeCustomers
) -> CustomerRead:
    source = await queries.get_customer(db, store_id=principal.store_id,
                                        customer_id=customer_id)
    target = await queries.get_customer(db, store_id=principal.store_id,
                                        customer_id=body.into_customer_id,
                                        field="into_customer_id")
    target = await actions.merge_customers(db, source=source, target=target,
                                           actor=principal.actor)
    return await _read(db, target)
