"""Test set-up: one migrated database per run (SQLite, or PostgreSQL from
SELLERDESK_TEST_DATABASE_URL), one rolled-back transaction per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.pool import NullPool

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.models import Store
from sellerdesk.accounts.permissions import Role
from sellerdesk.api.app import create_app
from sellerdesk.api.deps import get_db
from sellerdesk.channels.models import Channel
from sellerdesk.core import context
from sellerdesk.core.config import load_settings
from sellerdesk.core.db import Database, rollback
from sellerdesk.core.migrate import upgrade_connection
from sellerdesk.jobs import outbox
from tests.process import Webhook

TEST_DB_ENV = "SELLERDESK_TEST_DATABASE_URL"


def _database_url(tmp: Path) -> str:
    url = os.environ.get(TEST_DB_ENV)
    if url:
        return load_settings(database_url=url, data_dir=tmp).resolved_database_url
    return f"sqlite+aiosqlite:///{tmp / 'test.db'}"


async def _create_private_database(url: str) -> str:
    """A database of this test run's own on the given server, so parallel runs never collide."""
    name = f"sellerdesk_t{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = Database(url, poolclass=NullPool)
    async with admin.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return url.rsplit("/", 1)[0] + "/" + name


async def _drop_private_database(server_url: str, private_url: str) -> None:
    name = private_url.rsplit("/", 1)[1]
    admin = Database(server_url, poolclass=NullPool)
    async with admin.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sellerdesk-data")


@pytest.fixture(scope="session")
async def database(data_dir: Path) -> AsyncIterator[Database]:
    server_url = _database_url(data_dir)
    postgres = server_url.startswith("postgresql")
    url = await _create_private_database(server_url) if postgres else server_url
    settings = load_settings(database_url=url, data_dir=data_dir, secret_key="test-secret")
    database = Database(url)
    async with database.engine.connect() as conn:
        await conn.run_sync(upgrade_connection)
        await conn.commit()
    context.init(settings, database)
    outbox.set_dispatcher(None)
    yield database
    await database.dispose()
    context.reset()
    if postgres:
        await _drop_private_database(server_url, url)


@pytest.fixture
def backend(database: Database) -> str:
    return database.dialect


@pytest.fixture
async def db(database: Database) -> AsyncIterator[AsyncSession]:
    """A session whose every commit is a savepoint inside one transaction rolled back at the end."""
    async with database.engine.connect() as conn:
        outer = await conn.begin()
        session = AsyncSession(bind=conn, join_transaction_mode="create_savepoint",
                               expire_on_commit=False, autoflush=False)
        try:
            yield session
        finally:
            await session.close()
            await outer.rollback()


@pytest.fixture
async def store(db: AsyncSession) -> Store:
    return await accounts.create_store(db, slug="acme", name="Acme Shop")


@pytest.fixture
async def other_store(db: AsyncSession) -> Store:
    return await accounts.create_store(db, slug="other", name="Other Shop")


TokenFactory = Callable[..., Awaitable[str]]


@pytest.fixture
def make_token(db: AsyncSession) -> TokenFactory:
    async def make(store: Store, role: Role = Role.ADMIN, agent_id: int | None = None) -> str:
        _, plain = await accounts.create_api_token(db, store_id=store.id, role=role,
                                                   name=f"test {role.value}", agent_id=agent_id)
        return plain

    return make


@pytest.fixture
async def api_channel(db: AsyncSession, store: Store) -> tuple[Channel, str]:
    return await accounts.create_channel(
        db, store_id=store.id, type="api", name="Shop API",
        config={"webhook_url": "http://127.0.0.1:9/unused", "webhook_secret": "s3cret"},
    )


@pytest.fixture(scope="session")
def app(database: Database) -> FastAPI:
    """One app for the whole run: building one (some 200 routes) costs a quarter second."""
    return create_app()


@pytest.fixture
async def client(db: AsyncSession, app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the test session; a request that fails rolls back what it did not commit.

    In production every request has its own session, closed (rolled back) when the request
    fails. Here all requests share the test's session, so the same is done by hand; objects
    the test holds are reloaded so that they stay usable.
    """

    async def request_db() -> AsyncIterator[AsyncSession]:
        try:
            yield db
        except BaseException:
            await rollback(db)
            for obj in list(db.identity_map.values()):
                await db.refresh(obj)
            raise

    app.dependency_overrides[get_db] = request_db
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http
    finally:
        app.dependency_overrides.clear()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    """A local HTTP server that records the webhooks posted to it."""
    with Webhook() as hook:
        yield hook


@pytest.fixture
async def admin(store: Store, make_token: TokenFactory) -> dict[str, str]:
    """Authorization headers of an admin of `store`."""
    return bearer(await make_token(store, Role.ADMIN))


@pytest.fixture
async def other_admin(other_store: Store, make_token: TokenFactory) -> dict[str, str]:
    """Authorization headers of an admin of `other_store`."""
    return bearer(await make_token(other_store, Role.ADMIN))


@pytest.fixture
async def other_channel(db: AsyncSession, other_store: Store) -> tuple[Channel, str]:
    return await accounts.create_channel(db, store_id=other_store.id, type="api",
                                         name="Other API")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def pytest_report_header() -> str:
    url = os.environ.get(TEST_DB_ENV)
    return f"sellerdesk database: {'PostgreSQL' if url else 'SQLite (temporary file)'}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """In CI a skip hides a missing service, so it fails the run instead."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if os.environ.get("CI") == "true" and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI (CI=true), which is not allowed: {report.longrepr}"
