"""The `sellerdesk` command against a fresh data folder.

Commands run in-process through click's CliRunner, in a worker thread because they start their
own event loop; each test gets its own data folder. The CLI replaces the process-wide context,
so it is restored after every test.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from click.testing import CliRunner, Result

from sellerdesk.accounts import actions as accounts
from sellerdesk.api.app import create_app
from sellerdesk.cli import main
from sellerdesk.core import context
from sellerdesk.core.config import load_settings
from sellerdesk.jobs import outbox

T = TypeVar("T")


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.upper().startswith("SELLERDESK_") or name.upper() in (
            "DATABASE_URL", "REDIS_URL"
        ):
            monkeypatch.delenv(name)
    saved = context._current
    try:
        yield
    finally:
        context._current = saved
        outbox.set_dispatcher(None)


def in_thread(fn: Callable[..., T], *args: Any) -> T:
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args).result()


def sellerdesk(data_dir: Path, *args: str, **env: str) -> Result:
    runner = CliRunner()
    environment = {"SELLERDESK_DATA_DIR": str(data_dir), "SELLERDESK_SECRET_KEY": "cli-test",
                   **env}
    return in_thread(runner.invoke, main, list(args), None, environment)


def make_store(data_dir: Path, slug: str) -> int:
    async def work() -> int:
        ctx = context.init(load_settings(data_dir=data_dir, secret_key="cli-test"))
        try:
            async with ctx.database.sessionmaker() as db:
                store = await accounts.create_store(db, slug=slug, name=slug.title())
                return store.id
        finally:
            await ctx.database.dispose()

    return in_thread(asyncio.run, work())


def api_get(data_dir: Path, path: str, token: str) -> httpx.Response:
    async def work() -> httpx.Response:
        ctx = context.init(load_settings(data_dir=data_dir, secret_key="cli-test"))
        try:
            transport = httpx.ASGITransport(app=create_app())
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                return await http.get(path, headers={"Authorization": f"Bearer {token}"})
        finally:
            await ctx.database.dispose()

    return in_thread(asyncio.run, work())


@pytest.fixture
def migrated(tmp_path: Path) -> Path:
    result = sellerdesk(tmp_path, "migrate")
    assert result.exit_code == 0, result.output
    return tmp_path


def test_migrate_creates_the_database(tmp_path: Path) -> None:
    data_dir = tmp_path / "new-folder"

    result = sellerdesk(data_dir, "migrate")

    assert result.exit_code == 0, result.output
    db_file = data_dir / "sellerdesk.db"
    assert result.output == f"database is up to date: sqlite+aiosqlite:///{db_file}\n"
    with sqlite3.connect(db_file) as conn:
        version = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert len(version) == 1
    assert {"stores", "agents", "tickets", "messages", "channels", "jobs"} <= tables


def test_migrate_twice_is_harmless(migrated: Path) -> None:
    result = sellerdesk(migrated, "migrate")

    assert result.exit_code == 0, result.output


def test_migrate_with_unsupported_database_names_it_without_the_password(
    tmp_path: Path,
) -> None:
    result = sellerdesk(tmp_path, "migrate",
                        DATABASE_URL="mysql://root:hunter2@db.internal/desk")

    assert result.exit_code == 1
    assert result.output.startswith("Error: configuration error: setting '")
    assert "DATABASE_URL': Value error, must start with postgresql://" in result.output
    assert "hunter2" not in result.output


def test_token_create_prints_a_token_that_authenticates(migrated: Path) -> None:
    make_store(migrated, "demo")

    result = sellerdesk(migrated, "token", "create", "--store", "demo", "--role", "admin")

    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith("sd_")
    assert len(token.splitlines()) == 1
    response = api_get(migrated, "/api/v1/tickets", token)
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []
    assert api_get(migrated, "/api/v1/tickets", token + "x").status_code == 401


def test_token_create_with_invalid_role_names_the_role(migrated: Path) -> None:
    make_store(migrated, "demo")

    result = sellerdesk(migrated, "token", "create", "--store", "demo", "--role", "superuser")

    assert result.exit_code == 1
    assert result.output == (
        "Error: agent.invalid_role: role must be one of owner, admin, manager, agent, "
        "viewer, analyst\n"
    )


def test_token_create_for_unknown_store_names_it(migrated: Path) -> None:
    result = sellerdesk(migrated, "token", "create", "--store", "nope", "--role", "admin")

    assert result.exit_code == 1
    assert result.output == "Error: no store with slug 'nope'\n"


def test_token_create_requires_store_and_role(migrated: Path) -> None:
    result = sellerdesk(migrated, "token", "create", "--store", "demo")

    assert result.exit_code == 2
    assert "Missing option '--role'" in result.output


def test_agent_create_with_short_password_is_refused(migrated: Path) -> None:
    make_store(migrated, "demo")

    result = sellerdesk(migrated, "agent", "create", "--store", "demo", "--email", "a@b.pl",
                        "--name", "Anna", "--password", "short")

    assert result.exit_code == 1
    assert result.output == "Error: password: at least 8 characters are required\n"


def test_agent_create_without_password_and_without_terminal_is_refused(migrated: Path) -> None:
    make_store(migrated, "demo")

    result = sellerdesk(migrated, "agent", "create", "--store", "demo", "--email", "a@b.pl",
                        "--name", "Anna")

    assert result.exit_code == 1
    assert result.output == "Error: password: at least 8 characters are required\n"


def test_agent_create_then_duplicate_is_a_conflict(migrated: Path) -> None:
    store_id = make_store(migrated, "demo")
    args = ("agent", "create", "--store", "demo", "--email", "Anna@Shop.pl", "--name", "Anna",
            "--role", "manager", "--language", "pl", "--password", "correct horse")

    first = sellerdesk(migrated, *args)
    second = sellerdesk(migrated, *args)

    assert first.exit_code == 0, first.output
    assert re.fullmatch(r"agent \d+ created\n", first.output)
    assert second.exit_code == 1
    assert second.output == "Error: agent.exists: an agent 'anna@shop.pl' exists\n"
    with sqlite3.connect(migrated / "sellerdesk.db") as conn:
        rows = conn.execute("SELECT store_id, email, role, language FROM agents").fetchall()
    assert rows == [(store_id, "anna@shop.pl", "manager", "pl")]


def test_channel_create_prints_token_and_webhook_secret(migrated: Path) -> None:
    make_store(migrated, "demo")

    result = sellerdesk(migrated, "channel", "create", "--store", "demo", "--name", "Shop",
                        "--webhook-url", "https://shop.example/hook")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 3
    assert re.fullmatch(r"channel \d+ created", lines[0])
    assert re.fullmatch(r"inbound token:  sd_[A-Za-z0-9_-]{43}", lines[1])
    assert re.fullmatch(r"webhook secret: [A-Za-z0-9_-]{43}", lines[2])


def test_channel_create_with_unknown_type_is_refused(migrated: Path) -> None:
    make_store(migrated, "demo")

    result = sellerdesk(migrated, "channel", "create", "--store", "demo", "--name", "Fax",
                        "--type", "fax")

    assert result.exit_code == 1
    assert result.output.startswith("Error: channel.unknown_type: channel type must be one of ")


@pytest.mark.parametrize(
    ("env", "args", "named"),
    [
        ({"SELLERDESK_PORT": "abc"}, [], "'port'"),
        ({}, ["--port", "70000"], "'port'"),
        ({"SELLERDESK_LOG_LEVEL": "loud"}, [], "'log_level'"),
    ],
)
def test_serve_with_a_bad_setting_exits_naming_it(
    tmp_path: Path, env: dict[str, str], args: list[str], named: str
) -> None:
    result = sellerdesk(tmp_path, "serve", *args, **env)

    assert result.exit_code == 1
    assert result.output.startswith(f"Error: configuration error: setting {named}: ")
    assert not (tmp_path / "sellerdesk.db").exists()


def test_version_option() -> None:
    result = CliRunner().invoke(main, ["--version"])

    assert result.exit_code == 0
    assert "version" in result.output


def test_python_dash_m_sellerdesk_help(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("SELLERDESK_")}

    done = subprocess.run(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "sellerdesk", "--help"], capture_output=True, text=True,
        env={**env, "SELLERDESK_DATA_DIR": str(tmp_path)}, timeout=60, check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: python -m sellerdesk [OPTIONS] COMMAND [ARGS]...")
    for command in ("serve", "worker", "scheduler", "migrate", "demo", "token", "agent",
                    "channel"):
        assert f"  {command} " in done.stdout
    assert list(tmp_path.iterdir()) == []
