"""The `sellerdesk` command: serve, worker, scheduler, migrate, demo, token, agent, channel,
import, email."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.core import context
from sellerdesk.core.config import Settings, load_settings
from sellerdesk.core.errors import AppError, ConfigError

T = TypeVar("T")


def _settings(**overrides: Any) -> Settings:
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from exc


def _setup_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Migrations and the job queue narrate every step at INFO; people need their warnings only.
    for noisy in ("alembic", "huey"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.root.level))


def _run_db(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run one unit of work against the database in a fresh event loop."""

    async def main() -> T:
        ctx = context.init(settings)
        try:
            async with ctx.database.sessionmaker() as db:
                return await work(db)
        finally:
            await ctx.database.dispose()

    try:
        return asyncio.run(main())
    except AppError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from exc


def _migrate(settings: Settings) -> None:
    from sellerdesk.core.migrate import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)


@click.group()
@click.version_option(package_name="sellerdesk")
def main() -> None:
    """SellerDesk: one inbox for every customer conversation of an online shop."""


@main.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    settings = _settings()
    _migrate(settings)
    click.echo(f"database is up to date: {_redacted(settings.resolved_database_url)}")


def _redacted(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


@main.command()
@click.option("--store", "slug", default="demo", show_default=True, help="Store slug to create.")
@click.option("--seed", default=42, show_default=True, help="Random seed (same seed, same data).")
def demo(slug: str, seed: int) -> None:
    """Create a demo store with agents, teams and a few hundred generated tickets."""
    from sellerdesk.demo import print_summary, seed_demo

    settings = _settings()
    _migrate(settings)
    summary = _run_db(settings, lambda db: seed_demo(db, slug=slug, seed=seed))
    print_summary(summary, settings)


@main.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default 8000).")
@click.option("--no-worker", is_flag=True, help="Web only: jobs run in `sellerdesk worker`.")
def serve(host: str | None, port: int | None, no_worker: bool) -> None:
    """Run the web app (and, by default, the job workers and scheduler) in one process."""
    from sellerdesk.server import serve as run_server

    settings = _settings(host=host, port=port)
    _setup_logging(settings)
    _migrate(settings)
    _first_run(settings)
    run_server(settings, with_worker=not no_worker)


def _first_run(settings: Settings) -> None:
    from sellerdesk.accounts.models import Store

    async def has_store(db: AsyncSession) -> bool:
        return bool(await db.scalar(select(func.count()).select_from(Store)))

    if _run_db(settings, has_store) or not settings.demo_on_first_run:
        click.echo(f"SellerDesk on {settings.public_url}  (API docs: "
                   f"{settings.public_url}/api/v1/docs)")
        return
    if settings.demo_on_first_run:
        from sellerdesk.demo import print_summary, seed_demo

        click.echo("First run: seeding demo data (SELLERDESK_DEMO_ON_FIRST_RUN=false to skip)...")
        summary = _run_db(settings, lambda db: seed_demo(db, slug="demo", seed=42))
        print_summary(summary, settings)


@main.command()
@click.option("--workers", default=None, type=int, help="Worker threads (default from settings).")
def worker(workers: int | None) -> None:
    """Run job workers (for scaled-out set-ups with SELLERDESK_REDIS_URL)."""
    from sellerdesk.jobs.runtime import JobQueue, run_consumer

    settings = _settings()
    _setup_logging(settings)
    context.init(settings)
    run_consumer(JobQueue(settings), workers or settings.worker_threads)


@main.command()
def scheduler() -> None:
    """Run the periodic scheduler (one per installation; a Redis lease elects the leader)."""
    from sellerdesk.jobs.runtime import JobQueue, run_scheduler

    settings = _settings()
    _setup_logging(settings)
    context.init(settings)
    queue = JobQueue(settings)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_scheduler(queue, asyncio.Event(), leader_lock=bool(settings.redis_url)))


async def _store_id(db: AsyncSession, slug: str) -> int:
    from sellerdesk.accounts.models import Store

    store_id = await db.scalar(select(Store.id).where(Store.slug == slug))
    if store_id is None:
        raise click.ClickException(f"no store with slug {slug!r}")
    return int(store_id)


@main.group()
def store() -> None:
    """Stores (each shop or brand is one; every row belongs to exactly one)."""


@store.command("create")
@click.option("--slug", required=True, help="Short unique name, e.g. 'acme'.")
@click.option("--name", required=True, help="The shop's name as customers know it.")
@click.option("--timezone", default="UTC", show_default=True, help="e.g. Europe/Warsaw.")
@click.option("--language", default="en", show_default=True, help="Default language.")
def store_create(slug: str, name: str, timezone: str, language: str) -> None:
    """Create a store."""
    from sellerdesk.accounts.actions import create_store

    async def work(db: AsyncSession) -> int:
        created = await create_store(db, slug=slug, name=name, timezone=timezone,
                                     default_language=language)
        return created.id

    settings = _settings()
    _migrate(settings)
    click.echo(f"store {_run_db(settings, work)} created: {slug}")


@main.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.option("--store", "slug", required=True, help="Store slug.")
@click.option("--role", required=True, help="owner, admin, manager, agent, viewer or analyst.")
@click.option("--name", default="cli", show_default=True, help="A label for the token.")
def token_create(slug: str, role: str, name: str) -> None:
    """Create an API token and print it (it is shown only this once)."""
    from sellerdesk.accounts.actions import create_api_token, parse_role

    async def work(db: AsyncSession) -> str:
        store_id = await _store_id(db, slug)
        _, plain = await create_api_token(db, store_id=store_id, role=parse_role(role),
                                          name=name)
        return plain

    click.echo(_run_db(_settings(), work))


@main.group()
def agent() -> None:
    """Agents."""


@agent.command("create")
@click.option("--store", "slug", required=True, help="Store slug.")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", default="agent", show_default=True)
@click.option("--language", default="en", show_default=True, help="UI language: en, ko or pl.")
@click.option("--password", default=None, help="Omit to be asked (not echoed).")
def agent_create(slug: str, email: str, name: str, role: str, language: str,
                 password: str | None) -> None:
    """Create an agent who can sign in."""
    from sellerdesk.accounts.actions import create_agent, parse_role

    if password is None:
        password = getpass.getpass("Password: ") if sys.stdin.isatty() else None
    if not password or len(password) < 8:
        raise click.ClickException("password: at least 8 characters are required")

    async def work(db: AsyncSession) -> int:
        store_id = await _store_id(db, slug)
        created = await create_agent(db, store_id=store_id, email=email, name=name,
                                     role=parse_role(role), password=password,
                                     language=language)
        return created.id

    click.echo(f"agent {_run_db(_settings(), work)} created")


@main.group()
def channel() -> None:
    """Channels."""


@channel.command("create")
@click.option("--store", "slug", required=True, help="Store slug.")
@click.option("--type", "type_", default="api", show_default=True)
@click.option("--name", required=True)
@click.option("--marketplace", default=None, help="amazon, ebay, ... if the channel is one.")
@click.option("--webhook-url", default=None, help="API channel: where replies are POSTed.")
def channel_create(slug: str, type_: str, name: str, marketplace: str | None,
                   webhook_url: str | None) -> None:
    """Create a channel and print its inbound token (shown only this once)."""
    from sellerdesk.accounts.actions import create_channel

    async def work(db: AsyncSession) -> tuple[int, str, str | None]:
        store_id = await _store_id(db, slug)
        config = {"webhook_url": webhook_url} if webhook_url else {}
        created, plain = await create_channel(db, store_id=store_id, type=type_, name=name,
                                              marketplace=marketplace, config=config)
        return created.id, plain, created.config.get("webhook_secret")

    channel_id, plain, secret = _run_db(_settings(), work)
    click.echo(f"channel {channel_id} created")
    click.echo(f"inbound token:  {plain}")
    if secret:
        click.echo(f"webhook secret: {secret}")


@main.command("import")
@click.argument("kind", type=click.Choice(["mbox", "maildir", "eml"]))
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--store", "slug", required=True, help="Store slug.")
@click.option("--channel", "channel_id", type=int, default=None,
              help="Email channel to import into (default: the store's only one, else a new "
                   "'Imported email' channel).")
@click.option("--no-resume", is_flag=True,
              help="Read everything again instead of continuing (duplicates still change "
                   "nothing).")
def import_mail(kind: str, path: Path, slug: str, channel_id: int | None,
                no_resume: bool) -> None:
    """Import mail history (an mbox file, a maildir, or .eml files) as tickets.

    Rerunning the same import continues where the last one stopped; a message that cannot be
    parsed is quarantined with its reason and the import goes on.
    """
    from sellerdesk.channels.email.importer import ImportKind, ImportReport
    from sellerdesk.channels.email.importer import import_mail as run_import

    settings = _settings()
    _setup_logging(settings)
    logging.getLogger("sellerdesk.channels.email.importer").setLevel(logging.ERROR)
    _migrate(settings)

    def progress(report: ImportReport) -> None:
        rate = report.read / report.seconds if report.seconds else 0.0
        click.echo(f"  {report.read} messages: {report.summary()} ({rate:.0f}/s)", err=True)

    async def work(db: AsyncSession) -> ImportReport:
        store_id = await _store_id(db, slug)
        return await run_import(db, store_id=store_id, kind=ImportKind(kind), path=path,
                                channel_id=channel_id, resume=not no_resume,
                                on_progress=progress)

    try:
        report = _run_db(settings, work)
    except KeyboardInterrupt:
        raise click.ClickException(
            "interrupted: run the same command again to continue where it stopped") from None
    for where, why in report.unreadable:
        click.echo(f"not imported: {where}: {why}", err=True)
    click.echo(f"imported into channel {report.channel_id} in {report.seconds:.1f} s: "
               f"{report.summary()}")
    if report.quarantined:
        click.echo("quarantined messages are kept with their reason: GET /api/v1/quarantine")


@main.group()
def email() -> None:
    """Email accounts: the mailboxes SellerDesk reads (IMAP) and sends through (SMTP)."""


_SECURITY = click.Choice(["ssl", "starttls", "none"])


@email.command("add-account")
@click.option("--store", "slug", required=True, help="Store slug.")
@click.option("--address", required=True, help="The support address, e.g. support@shop.example.")
@click.option("--name", "display_name", default=None, help="Sender name on replies.")
@click.option("--channel", "channel_id", type=int, default=None,
              help="An existing email channel (default: a new one).")
@click.option("--imap-host", default=None)
@click.option("--imap-port", type=int, default=None, help="Default 993 (ssl) or 143.")
@click.option("--imap-security", type=_SECURITY, default="ssl", show_default=True)
@click.option("--imap-username", default=None, help="Default: the address.")
@click.option("--imap-folder", default="INBOX", show_default=True)
@click.option("--processed-folder", default=None,
              help="Move processed mail here (default: mark it read and keep it).")
@click.option("--auth", "auth_method", type=click.Choice(["password", "oauth2"]),
              default="password", show_default=True)
@click.option("--password", envvar="SELLERDESK_IMAP_PASSWORD", default=None,
              help="IMAP password (or SELLERDESK_IMAP_PASSWORD; asked when omitted).")
@click.option("--oauth-provider", default=None, help="google, microsoft, or a name of yours.")
@click.option("--oauth-client-id", default=None)
@click.option("--oauth-client-secret", envvar="SELLERDESK_OAUTH_CLIENT_SECRET", default=None)
@click.option("--oauth-authorize-url", default=None, help="Default: the provider's.")
@click.option("--oauth-token-url", default=None, help="Default: the provider's.")
@click.option("--oauth-scopes", default=None, help="Default: the provider's IMAP scopes.")
@click.option("--smtp-host", default=None)
@click.option("--smtp-port", type=int, default=None)
@click.option("--smtp-security", type=_SECURITY, default="starttls", show_default=True)
@click.option("--smtp-username", default=None)
@click.option("--smtp-password", envvar="SELLERDESK_SMTP_PASSWORD", default=None)
def email_add_account(slug: str, address: str, channel_id: int | None,
                      **options: Any) -> None:
    """Add a mailbox to a store (secrets are stored encrypted)."""
    from sellerdesk.channels.email.actions import create_account

    if (options["imap_host"] and options["auth_method"] == "password"
            and options["password"] is None and sys.stdin.isatty()):
        options["password"] = getpass.getpass("IMAP password: ")
    settings = {k: v for k, v in options.items() if v is not None}

    async def work(db: AsyncSession) -> tuple[int, int]:
        store_id = await _store_id(db, slug)
        account = await create_account(db, store_id=store_id, address=address,
                                       channel_id=channel_id, **settings)
        return account.id, account.channel_id

    account_id, channel = _run_db(_settings(), work)
    click.echo(f"email account {account_id} created (channel {channel})")
    if options["auth_method"] == "oauth2":
        click.echo(f"connect it: sellerdesk email oauth-url --store {slug} --account "
                   f"{account_id}, then open the URL as the mailbox owner")


@email.command("oauth-url")
@click.option("--store", "slug", required=True, help="Store slug.")
@click.option("--account", "account_id", type=int, required=True)
def email_oauth_url(slug: str, account_id: int) -> None:
    """Print the sign-in URL that connects an OAuth2 mailbox (valid for 15 minutes)."""
    from sellerdesk.channels.email import oauth
    from sellerdesk.channels.email.queries import get_account

    async def work(db: AsyncSession) -> str:
        account = await get_account(db, store_id=await _store_id(db, slug),
                                    account_id=account_id)
        return oauth.authorize_url(account)

    click.echo(_run_db(_settings(), work))


@email.command("poll")
@click.option("--once", is_flag=True, help="Read every mailbox once and exit.")
@click.option("--store", "slug", default=None, help="Only this store's mailboxes.")
@click.option("--account", "account_id", type=int, default=None, help="Only this mailbox.")
def email_poll(once: bool, slug: str | None, account_id: int | None) -> None:
    """Read IMAP mailboxes: once, or continuously (IDLE where offered) until stopped."""
    from sellerdesk.channels.email import imap
    from sellerdesk.channels.email.models import EmailAccount
    from sellerdesk.channels.email.tasks import pollable_accounts

    settings = _settings()
    _setup_logging(settings)

    async def accounts(db: AsyncSession) -> list[int]:
        store_id = await _store_id(db, slug) if slug else None
        found = await pollable_accounts(db, store_id=store_id, account_id=account_id)
        return [a.id for a in found]

    async def poll_all(db: AsyncSession) -> int:
        failed = 0
        for found_id in await accounts(db):
            account = await db.get(EmailAccount, found_id, populate_existing=True)
            if account is None:
                continue
            address = account.address
            try:
                result = await imap.poll_account(db, account)
            except imap.MailboxError as exc:
                failed += 1
                click.echo(f"{address}: FAILED: {exc.message}", err=True)
                continue
            done = ", ".join(f"{n} {k}" for k, n in sorted(result.outcomes.items()))
            state = result.skipped or (f"{result.fetched} fetched ({done})" if done
                                       else "nothing new")
            click.echo(f"{address}: {state}")
        return failed

    async def watch_all(db: AsyncSession) -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        ids = await accounts(db)
        await db.close()
        click.echo(f"watching {len(ids)} mailboxes (Ctrl-C stops)")
        await asyncio.gather(*(imap.watch_account(i, stop=stop) for i in ids))
        return 0

    if _run_db(settings, poll_all if once else watch_all):
        sys.exit(1)
