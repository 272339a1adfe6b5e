"""The default SLA set-up a seller starts from: rows, not constants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts import actions as accounts
from sellerdesk.automation import actions
from sellerdesk.automation.defaults import install_default_sla
from sellerdesk.automation.models import Calendar
from sellerdesk.core.actor import SYSTEM
from sellerdesk.core.errors import Conflict
from tests.automation.conftest import receive, sla_state, targets

FRIDAY_18_WARSAW = datetime(2026, 6, 5, 16, 0, tzinfo=UTC)
H = timedelta(hours=1)


async def test_defaults_install_an_office_calendar_and_ordered_policies(
    db: AsyncSession,
) -> None:
    store = await accounts.create_store(db, slug="hanok", name="Hanok", timezone="Europe/Warsaw")

    policies = await install_default_sla(db, store_id=store.id)

    calendar = (await db.execute(select(Calendar).where(Calendar.store_id == store.id))
                ).scalar_one()
    assert calendar.timezone == "Europe/Warsaw"
    assert calendar.hours["mon"] == [{"start": "09:00", "end": "17:00"}]
    assert calendar.hours["sat"] == []
    assert [(p.position, p.name) for p in policies] == [
        (1, "Chat"), (2, "Marketplaces: urgent and high"), (3, "Amazon buyer messages"),
        (4, "eBay messages"), (5, "Urgent"), (6, "High priority"), (7, "Email"),
        (8, "Everything else"),
    ]
    by_name = {p.name: p for p in policies}
    assert by_name["Amazon buyer messages"].targets["first_response"] == {
        "minutes": 1440, "business_hours": False}
    assert by_name["Amazon buyer messages"].calendar_id is None
    assert by_name["Chat"].targets["first_response"] == {"minutes": 1, "business_hours": False}
    assert by_name["Email"].targets["first_response"] == {"minutes": 240,
                                                          "business_hours": True}
    assert by_name["Email"].calendar_id == calendar.id


async def test_defaults_refuse_a_store_that_has_policies(db: AsyncSession) -> None:
    store = await accounts.create_store(db, slug="hanok", name="Hanok", timezone="Asia/Seoul")
    await install_default_sla(db, store_id=store.id)

    with pytest.raises(Conflict) as refused:
        await install_default_sla(db, store_id=store.id)

    assert refused.value.code == "sla.defaults_exist"


async def test_default_policies_apply_and_stay_editable(db: AsyncSession) -> None:
    # given the defaults in a Warsaw store, with Amazon's edited to 12 hours
    store = await accounts.create_store(db, slug="hanok", name="Hanok", timezone="Europe/Warsaw")
    by_name = {p.name: p for p in await install_default_sla(db, store_id=store.id)}
    email, _ = await accounts.create_channel(db, store_id=store.id, type="email", name="Mail")
    amazon, _ = await accounts.create_channel(db, store_id=store.id, type="email",
                                              name="Amazon", marketplace="amazon")
    await actions.update_policy(db, policy=by_name["Amazon buyer messages"], actor=SYSTEM,
                                changes={"targets": {"first_response": {"minutes": 720},
                                                     "resolution": {"minutes": 4320}}})

    # when an email and an Amazon buyer message arrive on Friday at 18:00 Warsaw time
    mail_ticket = await receive(db, email, at=FRIDAY_18_WARSAW, external_id="m")
    amazon_ticket = await receive(db, amazon, at=FRIDAY_18_WARSAW, external_id="a",
                                  marketplace="amazon", email="buyer@marketplace.amazon.pl")

    # then the email waits for Monday's office hours, the Amazon message does not
    mail_state, amazon_state = await sla_state(db, mail_ticket), await sla_state(db, amazon_ticket)
    assert mail_state is not None
    assert amazon_state is not None
    assert (mail_state.policy_name, amazon_state.policy_name) == ("Email",
                                                                  "Amazon buyer messages")
    assert (await targets(db, mail_ticket))["first_response"].due_at == datetime(
        2026, 6, 8, 11, 0, tzinfo=UTC)  # Monday 13:00 in Warsaw
    assert (await targets(db, amazon_ticket))["first_response"].due_at == (
        FRIDAY_18_WARSAW + 12 * H)
