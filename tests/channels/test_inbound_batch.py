"""The inbound path's batches: many payloads stored in one commit and written in one
transaction, with the guarantees of one message at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Store
from sellerdesk.channels import inbound
from sellerdesk.channels.email import actions as email_accounts
from sellerdesk.channels.models import Channel, RawPayload
from sellerdesk.core import context
from sellerdesk.core.db import rollback
from sellerdesk.customers.models import Customer, CustomerIdentity
from sellerdesk.jobs import outbox
from sellerdesk.jobs.models import Job
from sellerdesk.realtime.bus import bus
from sellerdesk.tickets import search
from sellerdesk.tickets.models import AuditEvent, Message, Ticket

Outcome = inbound.Outcome


def mail(n: int, *, sender: str = "ewa@example.pl", name: str = "Ewa Nowak",
         subject: str | None = None, reply_to: int | None = None,
         body: str | None = None, date: datetime | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"{name} <{sender}>"
    msg["To"] = "support@acme.example"
    msg["Subject"] = subject or (f"Re: Zamówienie {reply_to}" if reply_to else f"Zamówienie {n}")
    msg["Date"] = format_datetime(date or datetime(2024, 3, 1, 9, 30, tzinfo=UTC))
    msg["Message-ID"] = f"<b{n}@example.pl>"
    if reply_to is not None:
        msg["In-Reply-To"] = f"<b{reply_to}@example.pl>"
    msg.set_content(body or f"Dzień dobry, gdzie jest moja paczka numer {n}? Pozdrawiam, Ewa")
    return msg.as_bytes()


@pytest.fixture
async def channel(db: AsyncSession, store: Store) -> Channel:
    account = await email_accounts.create_account(db, store_id=store.id,
                                                  address="support@acme.example")
    found = await db.get(Channel, account.channel_id)
    assert found is not None
    return found


@pytest.fixture
def dispatched() -> Iterator[list[int]]:
    """Job ids handed to the queue (after commit)."""
    ids: list[int] = []

    async def dispatch(job_ids: list[int], delay: float) -> None:
        ids.extend(job_ids)

    outbox.set_dispatcher(dispatch)
    yield ids
    outbox.set_dispatcher(None)


async def batch(db: AsyncSession, channel: Channel, *bodies: bytes,
                historical: bool = False) -> list[inbound.IngestResult]:
    return await inbound.receive_batch(db, channel=channel, bodies=list(bodies),
                                       content_type="message/rfc822", historical=historical)


async def count(db: AsyncSession, model: type, *where: object) -> int:
    return int(await db.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_two_mails_of_one_new_sender_in_a_batch_share_one_customer(
    db: AsyncSession, channel: Channel
) -> None:
    results = await batch(db, channel, mail(1), mail(2, subject="Faktura"))

    assert [r.outcome for r in results] == [Outcome.CREATED, Outcome.CREATED]
    assert results[0].ticket_id != results[1].ticket_id
    assert await count(db, Customer) == 1
    assert await count(db, CustomerIdentity) == 1
    owners = set((await db.execute(select(Ticket.customer_id))).scalars())
    assert len(owners) == 1


async def test_a_reply_later_in_the_batch_threads_onto_the_ticket_the_batch_opened(
    db: AsyncSession, channel: Channel
) -> None:
    results = await batch(db, channel, mail(1), mail(2, sender="jan@example.pl", name="Jan"),
                          mail(3, reply_to=1), mail(4, reply_to=3))

    assert [r.outcome for r in results] == [
        Outcome.CREATED, Outcome.CREATED, Outcome.APPENDED, Outcome.APPENDED]
    assert results[2].ticket_id == results[0].ticket_id
    assert results[3].ticket_id == results[0].ticket_id
    ticket = await db.get(Ticket, results[0].ticket_id)
    assert ticket is not None
    assert ticket.message_count == 3
    texts = list((await db.execute(select(Message.external_id).where(
        Message.ticket_id == ticket.id).order_by(Message.id))).scalars())
    assert texts == ["b1@example.pl", "b3@example.pl", "b4@example.pl"]


async def test_a_reply_in_a_batch_joins_a_ticket_stored_before_and_reopens_it(
    db: AsyncSession, channel: Channel
) -> None:
    [first] = await batch(db, channel, mail(1))
    await db.execute(update(Ticket).where(Ticket.id == first.ticket_id).values(status="solved"))

    results = await batch(db, channel, mail(2, sender="jan@example.pl"), mail(3, reply_to=1))

    assert results[1].outcome is Outcome.APPENDED
    assert results[1].ticket_id == first.ticket_id
    ticket = await db.get(Ticket, first.ticket_id, populate_existing=True)
    assert ticket is not None
    assert (ticket.status, ticket.message_count) == ("open", 2)
    actions = list((await db.execute(select(AuditEvent.action).where(
        AuditEvent.ticket_id == ticket.id).order_by(AuditEvent.id))).scalars())
    assert actions == ["ticket.created", "message.received", "ticket.reopened",
                       "message.received"]


async def test_api_messages_in_a_batch_thread_on_their_thread_key(
    db: AsyncSession, api_channel: tuple[Channel, str]
) -> None:
    channel, _ = api_channel
    bodies = [
        b'{"external_id": "a1", "from": {"email": "ola@example.pl"}, "text": "Hej",'
        b' "thread_key": "order-7"}',
        b'{"external_id": "a2", "from": {"email": "ola@example.pl"}, "text": "Halo?",'
        b' "thread_key": "order-7"}',
        b'{"external_id": "a3", "from": {"email": "piotr@example.pl"}, "text": "Inna",'
        b' "thread_key": "order-8"}',
    ]

    results = await inbound.receive_batch(db, channel=channel, bodies=bodies,
                                          content_type="application/json")

    assert [r.outcome for r in results] == [Outcome.CREATED, Outcome.APPENDED, Outcome.CREATED]
    assert results[0].ticket_id == results[1].ticket_id != results[2].ticket_id


async def test_a_bad_message_in_a_batch_is_quarantined_and_the_others_are_stored(
    db: AsyncSession, channel: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a batch with an unparsable payload and one whose attachment is over the limit
    # (found only while writing, which fails the batch's transaction)
    monkeypatch.setattr(context.get().settings, "max_attachment_bytes", 1000)
    big = EmailMessage()
    big["From"] = "Jan <jan@example.pl>"
    big["To"] = "support@acme.example"
    big["Subject"] = "Zdjęcia"
    big["Message-ID"] = "<big@example.pl>"
    big.set_content("W załączniku zdjęcie.")
    big.add_attachment(b"\x89PNG" + b"x" * 5000, maintype="image", subtype="png",
                       filename="foto.png")
    broken = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << >> endobj\n"

    results = await batch(db, channel, mail(1), broken, big.as_bytes(), mail(2, reply_to=1))

    # then only those two are quarantined, with their reasons, and the rest is stored
    assert [r.outcome for r in results] == [
        Outcome.CREATED, Outcome.QUARANTINED, Outcome.QUARANTINED, Outcome.APPENDED]
    assert [r.error_code for r in results[1:3]] == ["email.not_mime",
                                                     "email.attachment_too_large"]
    raws = list(await db.execute(select(RawPayload.status, RawPayload.attempts).where(
        RawPayload.channel_id == channel.id).order_by(RawPayload.id)))
    assert [tuple(r) for r in raws] == [("processed", 1), ("quarantined", 1),
                                        ("quarantined", 1), ("processed", 1)]
    assert await count(db, Message) == 2


async def test_a_replayed_batch_changes_nothing_and_a_repeat_within_a_batch_is_one_message(
    db: AsyncSession, channel: Channel
) -> None:
    first = await batch(db, channel, mail(1), mail(2, reply_to=1), mail(1))
    messages, audits = await count(db, Message), await count(db, AuditEvent)

    again = await batch(db, channel, mail(1), mail(2, reply_to=1))

    assert [r.outcome for r in first] == [Outcome.CREATED, Outcome.APPENDED, Outcome.DUPLICATE]
    assert first[2].message_id == first[0].message_id
    assert [r.outcome for r in again] == [Outcome.DUPLICATE, Outcome.DUPLICATE]
    assert [r.message_id for r in again] == [r.message_id for r in first[:2]]
    assert (await count(db, Message), await count(db, AuditEvent)) == (messages, audits)
    assert messages == 2


async def test_jobs_and_live_events_follow_the_commit_of_what_was_stored(
    db: AsyncSession, store: Store, channel: Channel, dispatched: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a database whose commit of the batch's messages fails once
    real_commit = db.commit
    failures: list[int] = []

    async def flaky_commit() -> None:
        if not failures and any(isinstance(o, Job) for o in db.new):
            failures.append(1)
            raise RuntimeError("the batch's commit failed")
        await real_commit()

    monkeypatch.setattr(db, "commit", flaky_commit)

    # when a batch is received
    async with bus.subscribe(store.id) as events:
        results = await batch(db, channel, mail(1), mail(2, reply_to=1))
        await asyncio.sleep(0.05)  # delivery runs on the loop
        seen = [events.get_nowait() for _ in range(events.qsize())]

    # then each message was stored once (one by one after the failure), and only the jobs
    # and events of what was committed went out, once each
    assert failures == [1]
    assert [r.outcome for r in results] == [Outcome.CREATED, Outcome.APPENDED]
    jobs = list(await db.execute(select(Job.id, Job.payload).order_by(Job.id)))
    assert sorted(dispatched) == [job_id for job_id, _ in jobs]
    assert [payload["message_id"] for _, payload in jobs] == [r.message_id for r in results]
    assert [(e["type"], e["message_id"]) for e in seen] == [
        ("ticket.created", results[0].message_id), ("message.created", results[1].message_id)]


async def test_a_batch_that_dies_midway_is_stored_exactly_once_by_the_rerun(
    db: AsyncSession, channel: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a process that dies while it writes a batch (after its raw payloads committed)
    bodies = [mail(1), mail(2, reply_to=1), mail(3, sender="jan@example.pl")]
    real_index = search.index_messages

    async def die(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(search, "index_messages", die)
    with pytest.raises(KeyboardInterrupt):
        await batch(db, channel, *bodies)
    await rollback(db)  # what the dead process's transaction comes to
    monkeypatch.setattr(search, "index_messages", real_index)
    assert await count(db, Message) == 0
    assert await count(db, RawPayload, RawPayload.status == "received") == 3

    # when the source hands the same mail over again, and the stale payloads are recovered
    rerun = await batch(db, channel, *bodies)
    await db.execute(update(RawPayload).where(RawPayload.status == "received").values(
        received_at=datetime.now(UTC) - inbound.STALE_AFTER - timedelta(seconds=1)))
    recovered = await inbound.recover_stale(db)

    # then every message is stored exactly once
    assert [r.outcome for r in rerun] == [Outcome.CREATED, Outcome.APPENDED, Outcome.CREATED]
    assert recovered == 3
    rows = list(await db.execute(select(Message.external_id, func.count()).group_by(
        Message.external_id).order_by(Message.external_id)))
    assert [tuple(r) for r in rows] == [("b1@example.pl", 1), ("b2@example.pl", 1),
                                        ("b3@example.pl", 1)]
    statuses = list(await db.execute(select(RawPayload.status, func.count()).group_by(
        RawPayload.status).order_by(RawPayload.status)))
    assert [tuple(r) for r in statuses] == [("duplicate", 3), ("processed", 3)]


async def test_imported_history_is_stored_as_such_and_starts_no_automation(
    db: AsyncSession, channel: Channel, dispatched: list[int]
) -> None:
    # given a live ticket that agents solved
    [live] = await batch(db, channel, mail(1, date=datetime(2026, 11, 20, tzinfo=UTC)))
    await db.execute(update(Ticket).where(Ticket.id == live.ticket_id).values(status="solved"))
    jobs_before = await count(db, Job)
    live_last = await db.scalar(select(Ticket.last_message_at).where(
        Ticket.id == live.ticket_id))
    sent = datetime(2023, 5, 4, 8, 15, tzinfo=UTC)

    # when old mail is imported as history: a new conversation and a reply on the live one
    results = await batch(db, channel, mail(2, sender="jan@example.pl", name="Jan",
                                            body="Hello, where is my parcel? It has been "
                                                 "two weeks since I ordered the kettle.",
                                            date=sent),
                          mail(3, reply_to=1, date=sent), historical=True)

    # then they are stored, marked historical and dated by their own Date header
    assert [r.outcome for r in results] == [Outcome.CREATED, Outcome.APPENDED]
    rows = list(await db.execute(select(Message.is_historical, Message.created_at).where(
        Message.id.in_([r.message_id for r in results])).order_by(Message.id)))
    assert [tuple(r) for r in rows] == [(True, sent), (True, sent)]
    old = await db.get(Ticket, results[0].ticket_id)
    assert old is not None
    assert (old.created_at, old.last_message_at, old.language) == (sent, sent, "en")
    # but no job: no SLA clocks, rules, routing or replies; the solved ticket stays solved
    assert await count(db, Job) == jobs_before
    assert len(dispatched) == jobs_before
    solved = await db.get(Ticket, live.ticket_id, populate_existing=True)
    assert solved is not None
    assert (solved.status, solved.message_count) == ("solved", 2)
    assert solved.last_message_at == live_last  # older mail does not move it back
    live_message = await db.get(Message, live.message_id)
    assert live_message is not None
    assert live_message.is_historical is False


async def test_the_single_message_path_and_a_batch_thread_the_same_way(
    db: AsyncSession, channel: Channel, other_store: Store
) -> None:
    # given the same mail for two channels: one fed one message at a time, one in a batch
    account = await email_accounts.create_account(db, store_id=other_store.id,
                                                  address="support@other.example")
    other = await db.get(Channel, account.channel_id)
    assert other is not None
    bodies = [mail(1), mail(2, reply_to=1), mail(3, sender="jan@example.pl"),
              mail(4, reply_to=3), mail(5, subject="Re: [#999999] x"), mail(2, reply_to=1),
              mail(6, reply_to=2)]

    single = [await inbound.receive(db, channel=channel, body=b,
                                    content_type="message/rfc822") for b in bodies]
    batched = await batch(db, other, *bodies)

    def shape(results: list[inbound.IngestResult]) -> list[tuple[str, int]]:
        order: dict[int | None, int] = {}
        return [(r.outcome.value, order.setdefault(r.ticket_id, len(order))) for r in results]

    assert shape(single) == shape(batched)


async def test_a_bounce_in_a_batch_that_falls_back_is_still_handled(
    db: AsyncSession, channel: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a batch with a delivery report (on mail we did not send) and a message whose
    # attachment is over the limit, which makes the batch fall back to one at a time
    monkeypatch.setattr(context.get().settings, "max_attachment_bytes", 1000)
    report = (Path(__file__).parent / "email" / "eml" / "bounce_exim.eml").read_bytes().replace(
        b"ORIGINAL-MESSAGE-ID", b"<elsewhere@acme.example>")
    big = EmailMessage()
    big["From"] = "Jan <jan@example.pl>"
    big["Subject"] = "Zdjęcia"
    big["Message-ID"] = "<big@example.pl>"
    big.set_content("W załączniku zdjęcie.")
    big.add_attachment(b"x" * 5000, maintype="application", subtype="pdf",
                       filename="skan.pdf")

    results = await batch(db, channel, mail(1), report, big.as_bytes())

    assert [(r.outcome, r.error_code) for r in results] == [
        (Outcome.CREATED, None), (Outcome.QUARANTINED, "inbound.unmatched_bounce"),
        (Outcome.QUARANTINED, "email.attachment_too_large")]
    assert await count(db, RawPayload, RawPayload.status == "received") == 0


async def test_imported_history_recovered_after_a_crash_is_still_history(
    db: AsyncSession, channel: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an import whose process died after storing a batch's raw payloads
    async def die(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    real_index = search.index_messages
    monkeypatch.setattr(search, "index_messages", die)
    with pytest.raises(KeyboardInterrupt):
        await batch(db, channel, mail(1), mail(2, reply_to=1), historical=True)
    await rollback(db)
    monkeypatch.setattr(search, "index_messages", real_index)

    # when the stale payloads are recovered (no rerun of the import)
    await db.execute(update(RawPayload).values(
        received_at=datetime.now(UTC) - inbound.STALE_AFTER - timedelta(seconds=1)))
    assert await inbound.recover_stale(db) == 2

    # then they are stored as history, and started no automation
    flags = list((await db.execute(select(Message.is_historical))).scalars())
    assert flags == [True, True]
    assert await count(db, Job) == 0
