"""Periodic work of the email channel: read every IMAP mailbox once per scheduler sweep.

The sweep is the simple path that works on one machine and scaled out alike. `serve` can also
keep an IDLE watcher per mailbox (`run_watchers`), so new mail arrives within seconds; the
sweep then skips the mailboxes this process already watches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.channels.email import imap, oauth
from sellerdesk.channels.email.models import EmailAccount
from sellerdesk.channels.models import Channel
from sellerdesk.core import context
from sellerdesk.jobs.registry import periodic

log = logging.getLogger(__name__)

WATCHER_RESCAN_SECONDS = 120.0
# Messages per mailbox per sweep: a mailbox with years of unread mail is read over several
# sweeps instead of holding up the other periodic work.
SWEEP_LIMIT = 500

# Accounts an IDLE watcher of this process reads; the sweep leaves them to it.
_watched: set[int] = set()


async def pollable_accounts(db: AsyncSession, *, store_id: int | None = None,
                            account_id: int | None = None) -> list[EmailAccount]:
    """Active accounts with an IMAP server on an active channel, oldest first."""
    query = (
        select(EmailAccount)
        .join(Channel, Channel.id == EmailAccount.channel_id)
        .where(EmailAccount.is_active.is_(True), EmailAccount.imap_host.is_not(None),
               Channel.is_active.is_(True))
        .order_by(EmailAccount.id)
    )
    if store_id is not None:
        query = query.where(EmailAccount.store_id == store_id)
    if account_id is not None:
        query = query.where(EmailAccount.id == account_id)
    return list((await db.execute(query)).scalars())


@periodic("email.poll")
async def poll_mailboxes(db: AsyncSession) -> int:
    """Poll every readable mailbox once; return how many messages were fetched."""
    fetched = 0
    for account_id in [a.id for a in await pollable_accounts(db)]:
        # Loaded one by one: a failed poll rolls the session back, expiring what it holds.
        account = await db.get(EmailAccount, account_id, populate_existing=True)
        if account is None or account_id in _watched or oauth.needs_authorization(account):
            continue
        try:
            result = await imap.poll_account(db, account, limit=SWEEP_LIMIT)
        except imap.MailboxError as exc:
            log.warning("email account %s: %s", account.id, exc.message)
            continue
        fetched += result.fetched
    return fetched


async def run_watchers(stop: asyncio.Event) -> None:
    """Keep an IDLE watcher per readable mailbox until `stop` is set (part of `serve`)."""
    watchers: dict[int, tuple[asyncio.Task[None], asyncio.Event]] = {}
    sessionmaker = context.get().database.sessionmaker
    try:
        while not stop.is_set():
            try:
                async with sessionmaker() as db:
                    wanted = {a.id for a in await pollable_accounts(db)
                              if not oauth.needs_authorization(a)}
            except Exception:
                log.exception("listing email accounts to watch failed")
                wanted = set(watchers)
            for account_id, (task, own_stop) in list(watchers.items()):
                if task.done() or account_id not in wanted:
                    own_stop.set()  # it ends within a second; the sweep polls it meanwhile
                    del watchers[account_id]
            for account_id in wanted - set(watchers):
                own_stop = asyncio.Event()
                watchers[account_id] = (asyncio.create_task(_watch(account_id, own_stop)),
                                        own_stop)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), WATCHER_RESCAN_SECONDS)
    finally:
        for _, own_stop in watchers.values():
            own_stop.set()
        tasks = [task for task, _ in watchers.values()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=10)
            for task in pending:
                task.cancel()


async def _watch(account_id: int, stop: asyncio.Event) -> None:
    _watched.add(account_id)
    try:
        await imap.watch_account(account_id, stop=stop)
    finally:
        _watched.discard(account_id)
