"""The `sellerdesk` command: serve, worker, scheduler, migrate, demo, token, agent, channel."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import sys
from collections.abc import Awaitable, Callable
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
