"""Reads on macros, scoped to a store, and their rendering for a ticket (no writes)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Agent, Store
from sellerdesk.automation.macros import templating
from sellerdesk.automation.macros.errors import MacroError
from sellerdesk.automation.macros.models import Macro
from sellerdesk.core.errors import Invalid, NotFound
from sellerdesk.customers.models import Customer
from sellerdesk.tickets.models import Ticket

# Order numbers as Amazon and eBay write them; the relay thread key ends with one
# ("amazon:<alias>:<order>", "ebay:user:<name>:<order or item>"), see channels/email/relay.py.
_ORDER = re.compile(r"^(?:(?:\d{3}|D\d{2})-\d{7}-\d{7}|\d{2}-\d{5}-\d{5}|\d{12}-\d{12,14})$")
_RELAY_PREFIXES = ("amazon:", "ebay:")
# A shop's API channel may thread a conversation on its order: thread key "order:<number>".
_ORDER_KEY = "order:"


async def get_macro(db: AsyncSession, *, store_id: int, macro_id: int,
                    field: str = "macro_id") -> Macro:
    macro = (await db.execute(
        select(Macro).where(Macro.id == macro_id, Macro.store_id == store_id)
    )).scalar_one_or_none()
    if macro is None:
        raise NotFound(MacroError.NOT_FOUND, f"macro {macro_id} not found", field=field)
    return macro


async def list_macros(db: AsyncSession, *, store_id: int) -> list[Macro]:
    rows = await db.execute(
        select(Macro).where(Macro.store_id == store_id).order_by(Macro.name, Macro.id))
    return list(rows.scalars())


def order_number(ticket: Ticket) -> str | None:
    """The order a ticket is about, as far as its thread tells (shop connectors come later)."""
    key = (ticket.thread_key or "").strip()
    if key.startswith(_ORDER_KEY):
        return key[len(_ORDER_KEY):].strip()[:100] or None
    if key.startswith(_RELAY_PREFIXES):
        last = key.rsplit(":", 1)[1]
        return last if _ORDER.match(last) else None
    return None


async def ticket_variables(
    db: AsyncSession, *, ticket: Ticket, agent_id: int | None
) -> dict[str, str | None]:
    """The variables' values for a ticket: None where the ticket does not tell."""
    customer = None
    if ticket.customer_id is not None:
        customer = (await db.execute(select(Customer).where(
            Customer.id == ticket.customer_id, Customer.store_id == ticket.store_id,
        ))).scalar_one_or_none()
    agent_name = None
    if agent_id is not None:
        agent_name = await db.scalar(select(Agent.name).where(
            Agent.id == agent_id, Agent.store_id == ticket.store_id))
    store_name = await db.scalar(select(Store.name).where(Store.id == ticket.store_id))
    name = customer.name if customer is not None else None
    return {
        "customer.name": name,
        "customer.first_name": templating.first_name(name),
        "customer.email": customer.email if customer is not None else None,
        "ticket.id": str(ticket.id),
        "ticket.subject": ticket.subject or None,
        "order.number": order_number(ticket),
        "order.tracking_url": None,
        "agent.name": agent_name,
        "store.name": store_name,
    }


def check_values(values: Mapping[str, str]) -> dict[str, str]:
    """An agent's values, keyed by variable name; unknown names and blanks are refused."""
    for name, value in values.items():
        if name not in templating.VARIABLES:
            raise Invalid(MacroError.UNKNOWN_VARIABLE,
                          f"{name[:50]!r} is not a macro variable "
                          f"(use {', '.join(templating.VARIABLES)})", field=f"values.{name[:50]}")
        if not value.strip():
            raise Invalid(MacroError.MISSING_VARIABLES, f"the value of {name} is blank",
                          field=f"values.{name}")
    return dict(values)


@dataclass(frozen=True, slots=True)
class Preview:
    language: str
    text: str
    missing: tuple[str, ...]


async def preview(
    db: AsyncSession, *, macro: Macro, ticket: Ticket, agent_id: int | None,
    values: Mapping[str, str],
) -> Preview:
    """The macro rendered for the ticket in its language; missing variables listed."""
    given = check_values(values)
    store_language = await db.scalar(
        select(Store.default_language).where(Store.id == ticket.store_id))
    language = templating.choose_language(macro.variants, ticket_language=ticket.language,
                                          store_language=store_language)
    variables = await ticket_variables(db, ticket=ticket, agent_id=agent_id)
    variables.update(given)
    rendered = templating.render(language, macro.variants[language], variables)
    return Preview(language, rendered.text, rendered.missing)
