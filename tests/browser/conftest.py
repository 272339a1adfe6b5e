"""A real `sellerdesk serve` and Debian's Chromium driven by Playwright.

One server per test session (its own SQLite file, or a private PostgreSQL database when the suite
runs on PostgreSQL), seeded with a store, three agents (Polish, Korean, English) and customer
messages that arrive through the real inbound API. A failing test leaves screenshots of its pages
in test-artifacts/screenshots/.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.permissions import Role
from sellerdesk.core.db import Database
from tests.conftest import _create_private_database, _database_url, _drop_private_database
from tests.process import STARTUP_SECONDS, Webhook, clean_env, cli, free_port, wait_until

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PASSWORD = "browser test password"  # noqa: S105 (a test password)
AGENTS = {
    "ola": ("ola@shop.test", "Ola Nowak", "pl", Role.AGENT),
    "minji": ("minji@shop.test", "김민지", "ko", Role.AGENT),
    "john": ("john@shop.test", "John Owner", "en", Role.OWNER),
}


@dataclass
class Desk:
    """The running server and what it was seeded with."""

    base: str
    channel_token: str
    webhook: Webhook
    agent_ids: dict[str, int] = field(default_factory=dict)

    async def inbound(self, external_id: str, name: str, email: str, subject: str,
                      text: str, thread_key: str | None = None) -> int:
        """A customer message through the real inbound API; returns its ticket id."""
        body: dict[str, Any] = {"external_id": external_id,
                                "from": {"name": name, "email": email},
                                "subject": subject, "text": text}
        if thread_key is not None:
            body["thread_key"] = thread_key
        async with httpx.AsyncClient(base_url=self.base, timeout=20) as http:
            response = await http.post(
                "/api/v1/inbound", headers={"Authorization": f"Bearer {self.channel_token}"},
                json=body)
        assert response.status_code == 201, response.text
        return int(response.json()["ticket_id"])


@pytest.fixture(scope="session")
def browser_webhook() -> Iterator[Webhook]:
    with Webhook() as hook:
        yield hook


@pytest.fixture(scope="session")
async def desk(tmp_path_factory: pytest.TempPathFactory,
               browser_webhook: Webhook) -> AsyncIterator[Desk]:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (Debian package chromium); "
                    "scripts/test.sh installs it when run as root")
    data_dir = tmp_path_factory.mktemp("browser-serve")
    env = clean_env(data_dir)
    server_url = _database_url(data_dir)
    private = None
    if server_url.startswith("postgresql"):
        private = await _create_private_database(server_url)
        env["SELLERDESK_DATABASE_URL"] = private
    await cli(env, "migrate")
    database = Database(private or f"sqlite+aiosqlite:///{data_dir / 'sellerdesk.db'}")
    agent_ids: dict[str, int] = {}
    try:
        async with database.sessionmaker() as db:
            store = await accounts.create_store(db, slug="shop", name="Sklep Ewy",
                                                timezone="Europe/Warsaw", default_language="pl")
            for key, (email, name, language, role) in AGENTS.items():
                agent = await accounts.create_agent(db, store_id=store.id, email=email,
                                                    name=name, role=role, password=PASSWORD,
                                                    language=language)
                agent_ids[key] = agent.id
            await accounts.create_team(db, store_id=store.id, name="Obsługa",
                                       agent_ids=list(agent_ids.values()))
            _, channel_token = await accounts.create_channel(
                db, store_id=store.id, type="api", name="Sklep API",
                config={"webhook_url": browser_webhook.url, "webhook_secret": "browser"})
    finally:
        await database.dispose()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = data_dir / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", "sellerdesk", "serve", "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:

            async def healthy() -> bool:
                if process.poll() is not None:
                    raise AssertionError(f"serve exited early:\n{log_path.read_text()}")
                try:
                    return (await http.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_until(healthy, STARTUP_SECONDS, "/healthz")
        yield Desk(base=base, channel_token=channel_token, webhook=browser_webhook,
                   agent_ids=agent_ids)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        if private is not None:
            await _drop_private_database(server_url, private)


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (Debian package chromium); "
                    "scripts/test.sh installs it when run as root")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            # This machine has no way out: without these, Chromium keeps trying to reach
            # Google's services (and its sandbox needs privileges a container lacks).
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-dev-shm-usage"],
        )
        yield browser
        await browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"report_{report.when}", report)


OpenPage = Callable[..., Awaitable[Any]]


@pytest.fixture
async def signed_in(request: pytest.FixtureRequest, desk: Desk,
                    chromium: Any) -> AsyncIterator[OpenPage]:
    """`await signed_in("ola")`: a page in a fresh browser context, signed in through the form.
    `viewport=(w, h)` for a phone-sized screen."""
    contexts: list[Any] = []

    async def open_page(agent: str, *, viewport: tuple[int, int] = (1280, 860)) -> Any:
        context = await chromium.new_context(
            base_url=desk.base, viewport={"width": viewport[0], "height": viewport[1]},
            locale={"pl": "pl-PL", "ko": "ko-KR"}.get(AGENTS[agent][2], "en-GB"),
            timezone_id="Europe/Warsaw")
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = await context.new_page()
        await page.goto("/login")
        await page.fill("#email", AGENTS[agent][0])
        await page.fill("#password", PASSWORD)
        await page.click("form.card button[type=submit]")
        await page.wait_for_url("**/inbox**")
        return page

    yield open_page
    report = getattr(request.node, "report_call", None)
    failed = report is not None and report.failed
    for n, context in enumerate(contexts):
        if failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            for m, page in enumerate(context.pages):
                await page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{n}-{m}.png"),
                                      full_page=True)
        await context.close()
