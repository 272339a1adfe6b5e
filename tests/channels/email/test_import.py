"""Importing mail history (mbox, maildir, .eml) through the inbound path, resumably."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.models import Store
from sellerdesk.channels.email import actions
from sellerdesk.channels.email.importer import ImportKind, ImportReport, import_mail
from sellerdesk.channels.models import Channel, RawPayload
from sellerdesk.core import context
from sellerdesk.core.errors import Invalid
from sellerdesk.tickets.models import Message, Ticket
from tests.channels.email.dovecot import (
    cli_context_fixture,  # noqa: F401 (a fixture)
    mail,
    sellerdesk,
)

BROKEN = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << >> endobj\n"


def reply(n: int, to: int) -> bytes:
    return mail(n, subject=f"Re: Zamówienie {to}").replace(
        b"Message-ID:", f"In-Reply-To: <m{to}@shop.example>\nMessage-ID:".encode(), 1)


def mbox(*messages: bytes) -> bytes:
    out = b""
    for raw in messages:
        body = raw.replace(b"\r\n", b"\n").replace(b"\nFrom ", b"\n>From ")
        out += b"From MAILER-DAEMON Thu Jan  1 12:00:00 2026\n" + body.rstrip(b"\n") + b"\n\n"
    return out


async def count(db: AsyncSession, model: type, channel_id: int) -> int:
    return int(await db.scalar(select(func.count()).select_from(model).where(
        model.channel_id == channel_id)) or 0)  # type: ignore[attr-defined]


async def external_ids(db: AsyncSession, channel_id: int) -> list[str]:
    rows = await db.execute(select(Message.external_id).where(
        Message.channel_id == channel_id).order_by(Message.external_id))
    return [str(r) for r in rows.scalars()]


def counts(report: ImportReport) -> tuple[int, int, int, int]:
    return report.imported, report.duplicates, report.quarantined, report.skipped


async def test_an_mbox_becomes_tickets_and_a_rerun_reads_nothing_again(
    db: AsyncSession, store: Store, tmp_path: Path
) -> None:
    # given an mbox with two conversations and a broken message between them
    path = tmp_path / "support.mbox"
    path.write_bytes(mbox(mail(1), reply(2, to=1), BROKEN, mail(3)))

    first = await import_mail(db, store_id=store.id, kind=ImportKind.MBOX, path=path)
    again = await import_mail(db, store_id=store.id, kind=ImportKind.MBOX, path=path)

    assert counts(first) == (3, 0, 1, 0)
    assert counts(again) == (0, 0, 0, 4)
    channel = await db.get(Channel, first.channel_id)
    assert channel is not None
    assert (channel.type, channel.name, channel.store_id) == ("email", "Imported email",
                                                              store.id)
    assert await external_ids(db, channel.id) == ["m1@shop.example", "m2@shop.example",
                                                   "m3@shop.example"]
    assert await count(db, Ticket, channel.id) == 2
    quarantined = (await db.execute(select(RawPayload).where(
        RawPayload.status == "quarantined"))).scalar_one()
    assert quarantined.body == BROKEN
    assert quarantined.error_code == "email.not_mime"


async def test_mail_added_to_an_mbox_is_imported_by_the_next_run(
    db: AsyncSession, store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "support.mbox"
    path.write_bytes(mbox(mail(1), mail(2)))
    await import_mail(db, store_id=store.id, kind=ImportKind.MBOX, path=path)
    with path.open("ab") as fh:
        fh.write(mbox(reply(3, to=2)))

    later = await import_mail(db, store_id=store.id, kind=ImportKind.MBOX, path=path)

    assert counts(later) == (1, 0, 0, 2)
    assert await external_ids(db, later.channel_id) == [
        "m1@shop.example", "m2@shop.example", "m3@shop.example"]


async def test_an_interrupted_import_continues_where_it_stopped(
    db: AsyncSession, store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "history.mbox"
    path.write_bytes(mbox(*(mail(n) for n in range(1, 11))))

    def interrupt_after_four(report: ImportReport) -> None:
        if report.read >= 4:
            raise KeyboardInterrupt

    # (two messages a batch: progress is reported, and recorded, after each batch)
    with pytest.raises(KeyboardInterrupt):
        await import_mail(db, store_id=store.id, kind=ImportKind.MBOX, path=path,
                          on_progress=interrupt_after_four, progress_every=0, batch_size=2)
    rest = await import_mail(db, store_id=store.id, kind=ImportKind.MBOX, path=path)

    assert counts(rest) == (6, 0, 0, 4)
    assert len(await external_ids(db, rest.channel_id)) == 10


async def test_without_resume_everything_is_read_again_and_nothing_is_stored_twice(
    db: AsyncSession, store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "support.mbox"
    path.write_bytes(mbox(mail(1), mail(2)))
    await import_mail(db, store_id=store.id, kind=ImportKind.MBOX, path=path)

    again = await import_mail(db, store_id=store.id, kind=ImportKind.MBOX, path=path,
                              resume=False)

    assert counts(again) == (0, 2, 0, 0)
    assert len(await external_ids(db, again.channel_id)) == 2


async def test_a_maildir_is_imported_and_renamed_files_are_not_read_again(
    db: AsyncSession, store: Store, tmp_path: Path
) -> None:
    box = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (box / sub).mkdir(parents=True)
    (box / "cur" / "1700000001.M1P1.host:2,S").write_bytes(mail(1))
    (box / "cur" / "1700000002.M2P1.host:2,").write_bytes(reply(2, to=1))
    (box / "new" / "1700000003.M3P1.host").write_bytes(mail(3))
    (box / "new" / "1700000004.M4P1.host").write_bytes(b"")  # an empty file
    (box / "tmp" / "1700000005.M5P1.host").write_bytes(mail(5))  # still being delivered

    first = await import_mail(db, store_id=store.id, kind=ImportKind.MAILDIR, path=box)
    # a mail client marks one as answered: its name changes, it stays the same message
    (box / "cur" / "1700000001.M1P1.host:2,S").rename(box / "cur" / "1700000001.M1P1.host:2,RS")
    again = await import_mail(db, store_id=store.id, kind=ImportKind.MAILDIR, path=box)

    assert counts(first) == (3, 0, 1, 0)
    assert counts(again) == (0, 0, 0, 4)
    assert await external_ids(db, first.channel_id) == [
        "m1@shop.example", "m2@shop.example", "m3@shop.example"]
    assert await count(db, Ticket, first.channel_id) == 2


async def test_eml_files_in_a_folder_tree_and_a_single_eml_file(
    db: AsyncSession, store: Store, tmp_path: Path
) -> None:
    folder = tmp_path / "export"
    (folder / "2024" / "styczeń").mkdir(parents=True)
    (folder / "2024" / "styczeń" / "a.eml").write_bytes(mail(1))
    (folder / "2024" / "b.EML").write_bytes(mail(2))
    (folder / "notes.txt").write_text("not mail")
    single = tmp_path / "one.eml"
    single.write_bytes(mail(3))

    tree = await import_mail(db, store_id=store.id, kind=ImportKind.EML, path=folder)
    one = await import_mail(db, store_id=store.id, kind=ImportKind.EML, path=single)

    assert counts(tree) == (2, 0, 0, 0)
    assert counts(one) == (1, 0, 0, 0)
    assert await external_ids(db, tree.channel_id) == [
        "m1@shop.example", "m2@shop.example", "m3@shop.example"]


async def test_a_file_over_the_size_limit_is_reported_and_the_import_goes_on(
    db: AsyncSession, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "a.eml").write_bytes(mail(1))
    (folder / "b.eml").write_bytes(mail(2, body="x" * 3000))
    (folder / "c.eml").write_bytes(mail(3))
    monkeypatch.setattr(context.get().settings, "max_inbound_bytes", 2048)

    report = await import_mail(db, store_id=store.id, kind=ImportKind.EML, path=folder)

    assert counts(report) == (2, 0, 0, 0)
    assert len(report.unreadable) == 1
    where, why = report.unreadable[0]
    assert where == str(folder / "b.eml")
    assert why.endswith("bytes, over the 2048-byte limit (max_inbound_bytes)")


async def test_the_store_s_only_email_channel_is_used_and_several_need_a_choice(
    db: AsyncSession, store: Store, other_store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "one.eml"
    path.write_bytes(mail(1))
    first = await actions.create_account(db, store_id=store.id, address="a@acme.example")

    used = await import_mail(db, store_id=store.id, kind=ImportKind.EML, path=path)
    second = await actions.create_account(db, store_id=store.id, address="b@acme.example")
    with pytest.raises(Invalid) as several:
        await import_mail(db, store_id=store.id, kind=ImportKind.EML, path=path)
    chosen = await import_mail(db, store_id=store.id, kind=ImportKind.EML, path=path,
                               channel_id=second.channel_id)
    other, _ = await accounts.create_channel(db, store_id=other_store.id, type="email",
                                             name="Other")
    with pytest.raises(Invalid) as foreign:
        await import_mail(db, store_id=store.id, kind=ImportKind.EML, path=path,
                          channel_id=other.id)

    assert used.channel_id == first.channel_id
    assert several.value.code == "email_import.ambiguous_channel"
    assert several.value.message == (
        "the store has several email channels; choose one with --channel: "
        f"{first.channel_id} (a@acme.example), {second.channel_id} (b@acme.example)")
    assert counts(chosen) == (1, 0, 0, 0)
    assert (foreign.value.code, foreign.value.field) == ("email_import.wrong_channel",
                                                         "channel")


async def test_a_folder_that_is_not_a_maildir_is_refused(
    db: AsyncSession, store: Store, tmp_path: Path
) -> None:
    with pytest.raises(Invalid) as err:
        await import_mail(db, store_id=store.id, kind=ImportKind.MAILDIR, path=tmp_path)

    assert err.value.code == "email_import.not_a_maildir"
    assert await db.scalar(select(func.count()).select_from(Channel)) == 0


# -- the command, against a data folder of its own


@pytest.mark.usefixtures("cli_context")
def test_the_import_command_reports_counts_and_continues_on_a_rerun(tmp_path: Path) -> None:
    data = tmp_path / "data"
    path = tmp_path / "support.mbox"
    path.write_bytes(mbox(mail(1), BROKEN, reply(2, to=1), mail(3)))
    assert sellerdesk(data, "store", "create", "--slug", "acme", "--name", "Acme").exit_code == 0

    first = sellerdesk(data, "import", "mbox", str(path), "--store", "acme")
    again = sellerdesk(data, "import", "mbox", str(path), "--store", "acme")
    unknown = sellerdesk(data, "import", "mbox", str(path), "--store", "nope")

    assert first.exit_code == 0, first.output
    assert "imported into channel 1 in " in first.output
    assert "3 imported, 0 duplicates, 1 quarantined" in first.output
    assert "GET /api/v1/quarantine" in first.output
    assert again.exit_code == 0, again.output
    assert "0 imported, 0 duplicates, 0 quarantined, 4 skipped (done before)" in again.output
    assert unknown.exit_code == 1
    assert "no store with slug 'nope'" in unknown.output
    with sqlite3.connect(data / "sellerdesk.db") as conn:
        rows = conn.execute("SELECT external_id FROM messages ORDER BY external_id").fetchall()
    assert rows == [("m1@shop.example",), ("m2@shop.example",), ("m3@shop.example",)]
