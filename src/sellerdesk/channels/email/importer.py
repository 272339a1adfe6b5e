"""Bringing years of mail in: an mbox file, a maildir, or .eml files, through the inbound path.

Messages go through `inbound.receive_batch`, `batch_size` at a time, like mail fetched over
IMAP: the raw bytes are stored first, then parsed, threaded and deduplicated by Message-ID, so
running an import twice changes nothing. Imported mail is history: it is stored as such
(`messages.is_historical`, dated by its Date header) and starts no automation, no SLA clocks,
rules, routing or auto-replies on years-old mail. A progress record in the data folder
(`imports/`) lets a rerun of a large import skip what it already did without reading it again:
for an mbox the byte offset reached, for maildirs and .eml folders the files done, recorded
after each batch is committed. A broken message is quarantined with its reason (the inbound
path's rule) and the import goes on; a file that cannot be read at all is reported and left
where it is.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.actions import create_channel
from sellerdesk.channels import inbound
from sellerdesk.channels.email.models import EmailAccount
from sellerdesk.channels.models import Channel
from sellerdesk.core import context
from sellerdesk.core.errors import Invalid

log = logging.getLogger(__name__)


class ImportKind(StrEnum):
    MBOX = "mbox"
    MAILDIR = "maildir"
    EML = "eml"


class ImportError_(StrEnum):  # noqa: N801 (ImportError is a builtin)
    NOT_FOUND = "email_import.not_found"
    NOT_A_MAILDIR = "email_import.not_a_maildir"
    NOT_AN_MBOX = "email_import.not_an_mbox"
    NO_CHANNEL = "email_import.no_channel"
    AMBIGUOUS_CHANNEL = "email_import.ambiguous_channel"
    WRONG_CHANNEL = "email_import.wrong_channel"


@dataclass
class ImportReport:
    imported: int = 0  # new tickets and messages joining existing ones
    duplicates: int = 0  # already stored (an earlier run, or the same mail twice)
    quarantined: int = 0  # stored raw, but could not be parsed: see the quarantine
    bounces: int = 0  # delivery reports about mail SellerDesk sent
    skipped: int = 0  # done by an earlier run, not read again
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (where, why)
    channel_id: int = 0
    seconds: float = 0.0

    @property
    def read(self) -> int:
        return self.imported + self.duplicates + self.quarantined + self.bounces

    def summary(self) -> str:
        parts = [f"{self.imported} imported", f"{self.duplicates} duplicates",
                 f"{self.quarantined} quarantined"]
        if self.bounces:
            parts.append(f"{self.bounces} bounces")
        if self.skipped:
            parts.append(f"{self.skipped} skipped (done before)")
        if self.unreadable:
            parts.append(f"{len(self.unreadable)} unreadable")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class _Item:
    key: str  # what the progress record remembers: mbox offset after it, or the file's name
    where: str  # for people: the file, or the mbox and the message's place in it
    data: bytes | None
    problem: str | None = None  # why `data` is None


# --------------------------------------------------------------------------------------------
# Sources


def _mbox_items(path: Path, start: int, limit: int, report: ImportReport) -> Iterator[_Item]:
    """Messages of an mbox file from byte `start` on; each key is the offset after the
    message."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        if start == size:
            return  # nothing was added since the last run
        if start:
            fh.seek(start)
            if start > size or fh.read(5) != b"From ":
                # The file is not what the progress record describes any more: start over;
                # what was imported before comes back as duplicates and changes nothing.
                log.warning("%s changed since the last import: reading it from the start", path)
                start, report.skipped = 0, 0
            fh.seek(start)
        yield from _split_mbox(fh, path, start, report.skipped, limit)


def _split_mbox(fh: IO[bytes], path: Path, offset: int, number: int, limit: int
                ) -> Iterator[_Item]:
    chunks: list[bytes] = []
    size = 0
    begin = offset
    started = False
    blank_before = True
    for line in fh:
        if line.startswith(b"From ") and blank_before:
            if started or size:
                yield _mbox_item(path, chunks, size, limit, begin, offset, number)
            started = True
            number += 1
            chunks, size, begin = [], 0, offset
        else:
            size += len(line)
            if size <= limit:
                chunks.append(line)
        blank_before = line in (b"\n", b"\r\n")
        offset += len(line)
    if started or size:
        yield _mbox_item(path, chunks, size, limit, begin, offset, number)


def _mbox_item(path: Path, chunks: list[bytes], size: int, limit: int, begin: int, end: int,
               number: int) -> _Item:
    where = f"{path.name}, message {number} (byte {begin})"
    if size > limit:
        return _Item(str(end), where, None,
                     f"{size} bytes, over the {limit}-byte limit (max_inbound_bytes)")
    data = b"".join(chunks)
    # The blank line before the next "From " belongs to the mbox format, not to the message.
    if data.endswith(b"\r\n\r\n"):
        data = data[:-2]
    elif data.endswith(b"\n\n"):
        data = data[:-1]
    return _Item(str(end), where, data)


def _read_file(file: Path, key: str, where: str, limit: int) -> _Item:
    try:
        size = file.stat().st_size
        if size > limit:
            return _Item(key, where, None,
                         f"{size} bytes, over the {limit}-byte limit (max_inbound_bytes)")
        return _Item(key, where, file.read_bytes())
    except OSError as exc:
        return _Item(key, where, None, f"cannot be read: {exc.strerror or exc}")


def _maildir_items(path: Path, done: set[str], limit: int, report: ImportReport
                   ) -> Iterator[_Item]:
    files = sorted(
        (file for sub in ("new", "cur") if (path / sub).is_dir()
         for file in (path / sub).iterdir() if file.is_file() and not file.name.startswith(".")),
        key=lambda f: f.name)
    for file in files:
        # The unique part of a maildir name survives flag changes (":2,S" suffixes).
        key = file.name.split(":", 1)[0]
        if key in done:
            report.skipped += 1
            continue
        yield _read_file(file, key, str(file), limit)


def _eml_items(path: Path, done: set[str], limit: int, report: ImportReport) -> Iterator[_Item]:
    if path.is_file():
        files = [path]
        base = path.parent
    else:
        files = sorted(f for f in path.rglob("*") if f.is_file() and f.suffix.lower() == ".eml")
        base = path
    for file in files:
        key = str(file.relative_to(base))
        if key in done:
            report.skipped += 1
            continue
        yield _read_file(file, key, str(file), limit)


# --------------------------------------------------------------------------------------------
# Progress


class _Progress:
    """An append-only record of what an import finished: one key a line, flushed as it goes,
    so a killed import loses at most the line being written."""

    def __init__(self, file: Path | None, header: str) -> None:
        self.file = file
        self.done: set[str] = set()
        self.last: str | None = None
        self._fh: IO[str] | None = None
        if file is None:
            return
        if file.exists():
            for line in file.read_text(encoding="utf-8", errors="replace").splitlines():
                if line and not line.startswith("#"):
                    self.done.add(line)
                    self.last = line
        else:
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(f"# {header}\n", encoding="utf-8")
        self._fh = file.open("a", encoding="utf-8")

    def record(self, key: str) -> None:
        if self._fh is not None:
            self._fh.write(key + "\n")
            self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()


def progress_file(kind: ImportKind, path: Path, channel_id: int) -> Path:
    ident = f"{kind.value}\0{path.resolve()}\0{channel_id}".encode()
    name = f"{kind.value}-{hashlib.sha256(ident).hexdigest()[:16]}.progress"
    return context.get().settings.data_dir / "imports" / name


# --------------------------------------------------------------------------------------------
# Import


async def import_channel(db: AsyncSession, *, store_id: int, channel_id: int | None) -> Channel:
    """The email channel to import into: the one given, the store's only one, or a new one."""
    if channel_id is not None:
        channel = await db.get(Channel, channel_id)
        if channel is None or channel.store_id != store_id or channel.type != "email":
            raise Invalid(ImportError_.WRONG_CHANNEL,
                          f"channel {channel_id} is not an email channel of this store",
                          field="channel")
        return channel
    channels = list((await db.execute(
        select(Channel).where(Channel.store_id == store_id, Channel.type == "email")
        .order_by(Channel.id))).scalars())
    if len(channels) == 1:
        return channels[0]
    if channels:
        accounts = {a.channel_id: a.address for a in (await db.execute(
            select(EmailAccount).where(EmailAccount.store_id == store_id))).scalars()}
        listed = ", ".join(f"{c.id} ({accounts.get(c.id, c.name)})" for c in channels)
        raise Invalid(ImportError_.AMBIGUOUS_CHANNEL,
                      f"the store has several email channels; choose one with --channel: "
                      f"{listed}", field="channel")
    channel, _ = await create_channel(db, store_id=store_id, type="email",
                                      name="Imported email")
    return channel


ProgressCallback = Callable[[ImportReport], None]


async def import_mail(
    db: AsyncSession,
    *,
    store_id: int,
    kind: ImportKind,
    path: Path,
    channel_id: int | None = None,
    resume: bool = True,
    on_progress: ProgressCallback | None = None,
    progress_every: float = 2.0,
    batch_size: int = inbound.BATCH_SIZE,
) -> ImportReport:
    """Import every message under `path` into the store; return what happened to them."""
    if not path.exists():
        raise Invalid(ImportError_.NOT_FOUND, f"{path} does not exist", field="path")
    if kind is ImportKind.MAILDIR and not any((path / sub).is_dir() for sub in ("cur", "new")):
        raise Invalid(ImportError_.NOT_A_MAILDIR,
                      f"{path} is not a maildir: it has no cur/ or new/ folder", field="path")
    if kind is ImportKind.MBOX and not path.is_file():
        raise Invalid(ImportError_.NOT_AN_MBOX, f"{path} is not a file", field="path")
    channel = await import_channel(db, store_id=store_id, channel_id=channel_id)
    report = ImportReport(channel_id=channel.id)
    record = progress_file(kind, path, channel.id) if resume else None
    progress = _Progress(record, f"sellerdesk import {kind.value} {path.resolve()} "
                                 f"channel {channel.id}")
    limit = context.get().settings.max_inbound_bytes
    started = last_report = time.monotonic()
    try:
        if kind is ImportKind.MBOX:
            start = int(progress.last) if progress.last and progress.last.isdigit() else 0
            report.skipped = len(progress.done) if start else 0
            items = _mbox_items(path, start, limit, report)
        elif kind is ImportKind.MAILDIR:
            items = _maildir_items(path, progress.done, limit, report)
        else:
            items = _eml_items(path, progress.done, limit, report)
        batch: list[_Item] = []
        for item in items:
            if item.data is None:
                report.unreadable.append((item.where, item.problem or "unreadable"))
                log.warning("import: %s: %s", item.where, item.problem)
                continue
            batch.append(item)
            if len(batch) < batch_size:
                continue
            await _store(db, channel, batch, report, progress)
            batch = []
            if on_progress is not None and time.monotonic() - last_report >= progress_every:
                last_report = time.monotonic()
                report.seconds = last_report - started
                on_progress(report)
        if batch:
            await _store(db, channel, batch, report, progress)
    finally:
        progress.close()
        report.seconds = time.monotonic() - started
    return report


async def _store(db: AsyncSession, channel: Channel, batch: list[_Item], report: ImportReport,
                 progress: _Progress) -> None:
    """One batch through the inbound path, as history; recorded as done once committed."""
    if inspect(channel).expired_attributes:
        await db.refresh(channel)  # a rollback inside the inbound path expired it
    results = await inbound.receive_batch(
        db, channel=channel, bodies=[item.data or b"" for item in batch],
        content_type="message/rfc822", historical=True)
    for item, result in zip(batch, results, strict=True):
        outcome = result.outcome
        if outcome in (inbound.Outcome.CREATED, inbound.Outcome.APPENDED):
            report.imported += 1
        elif outcome is inbound.Outcome.DUPLICATE:
            report.duplicates += 1
        elif outcome is inbound.Outcome.BOUNCE:
            report.bounces += 1
        else:
            report.quarantined += 1
            log.info("import: %s quarantined: %s", item.where, result.error_reason)
        progress.record(item.key)
