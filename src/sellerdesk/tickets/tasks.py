"""Jobs of the tickets domain: what happens after a message arrives."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.automation import tracking as sla
from sellerdesk.automation.routing import engine as routing
from sellerdesk.automation.rules import tasks as rules
from sellerdesk.core.actor import SYSTEM
from sellerdesk.core.db import commit
from sellerdesk.core.text import detect_language
from sellerdesk.customers.models import Customer
from sellerdesk.jobs.registry import job
from sellerdesk.tickets import audit
from sellerdesk.tickets.models import Message, Ticket


@job("inbound.received")
async def inbound_received(db: AsyncSession, *, message_id: int) -> None:
    """Language of the ticket and customer, then the ticket's SLA clocks.

    Triage, rules and routing hook in here as they are built; each step must be safe
    to run twice, since a job may be retried.
    """
    message = await db.get(Message, message_id)
    if message is None:
        return
    ticket = await db.get(Ticket, message.ticket_id)
    if ticket is None:
        return
    await _detect_language(db, ticket, message)
    # After the language: an SLA policy may match on the customer's language.
    await sla.customer_wrote(db, ticket=ticket, message=message)
    await rules.message_received(db, ticket=ticket, message=message)
    await routing.ticket_arrived(db, ticket_id=ticket.id)  # keep last: after rules' team choice


async def _detect_language(db: AsyncSession, ticket: Ticket, message: Message) -> None:
    """Language of the ticket and customer, from the first message that tells it."""
    if ticket.language is not None:
        return
    language = detect_language(message.text)
    if language is None:
        return
    ticket.language = language
    audit.record(
        db, store_id=ticket.store_id, actor=SYSTEM, entity_type="ticket", entity_id=ticket.id,
        ticket_id=ticket.id, action="ticket.language_detected",
        before={"language": None}, after={"language": language},
    )
    if message.author_customer_id is not None:
        customer = await db.get(Customer, message.author_customer_id)
        if customer is not None and customer.language is None:
            customer.language = language
    await commit(db)
