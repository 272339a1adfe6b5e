"""A real uvicorn server on a loopback port, in the test's event loop and on the test's
database session, and signed-in WebSocket clients of it."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.models import Agent, Store
from sellerdesk.accounts.permissions import Role
from sellerdesk.api.app import create_app
from sellerdesk.api.deps import get_db
from sellerdesk.channels import inbound
from sellerdesk.channels.base import IdentityKind, InboundMessage, SenderIdentity, ThreadHints
from sellerdesk.channels.models import Channel
from sellerdesk.core.db import rollback
from sellerdesk.realtime import gateway
from sellerdesk.web.cookies import SESSION_COOKIE
from tests.web.support import PASSWORD, sign_in

Frame = dict[str, Any]
SAME_ORIGIN = "same"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    port: int
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def http(self) -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=self.base, trust_env=False, timeout=10)
        self.clients.append(client)
        return client

    async def session_cookie(self, email: str) -> str:
        """Sign in through the real forms; the `Cookie` header a browser would then send."""
        browser = self.http()
        await sign_in(browser, email)
        return f"{SESSION_COOKIE}={browser.cookies[SESSION_COOKIE]}"

    def socket(self, cookie: str | None, *, origin: str | None = SAME_ORIGIN) -> connect:
        """A WebSocket handshake as a browser on `origin` (None: no Origin header) sends it."""
        headers = {"Cookie": cookie} if cookie else {}
        return connect(self.ws_url, origin=Origin(self.base if origin == SAME_ORIGIN else origin)
                       if origin else None,
                       additional_headers=headers, proxy=None, open_timeout=5, close_timeout=2)

    @asynccontextmanager
    async def agent_socket(self, email: str) -> AsyncIterator[ClientConnection]:
        """A signed-in agent's socket, subscribed (its `ready` frame read)."""
        async with self.socket(await self.session_cookie(email)) as ws:
            ready = await next_frame(ws)
            assert ready["type"] == "ready"
            yield ws


@pytest.fixture
async def live_server(db: AsyncSession) -> AsyncIterator[LiveServer]:
    app = create_app()

    async def request_db() -> AsyncIterator[AsyncSession]:
        try:
            yield db
        except BaseException:
            await rollback(db)
            raise

    # Sockets share the test's one session, which allows one operation at a time.
    one_at_a_time = asyncio.Lock()

    @asynccontextmanager
    async def shared_session() -> AsyncIterator[AsyncSession]:
        async with one_at_a_time:
            yield db

    app.dependency_overrides[get_db] = request_db
    app.dependency_overrides[gateway.live_sessions] = lambda: shared_session
    server = uvicorn.Server(uvicorn.Config(
        app, host="127.0.0.1", port=free_port(), lifespan="off", ws="auto",
        log_level="warning", timeout_graceful_shutdown=5,
    ))
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 10
    while not server.started:
        if task.done():
            task.result()
        assert time.monotonic() < deadline, "uvicorn did not start"
        await asyncio.sleep(0.01)
    live = LiveServer(server.config.port)
    try:
        yield live
    finally:
        for client in live.clients:
            await client.aclose()
        server.should_exit = True
        await task


async def make_agent(db: AsyncSession, store: Store, email: str, name: str,
                     language: str = "en") -> Agent:
    return await accounts.create_agent(db, store_id=store.id, email=email, name=name,
                                       role=Role.AGENT, password=PASSWORD, language=language)


@pytest.fixture
async def anna(db: AsyncSession, store: Store) -> Agent:
    return await make_agent(db, store, "anna@acme.test", "Anna Kowalska")


@pytest.fixture
async def ola(db: AsyncSession, store: Store) -> Agent:
    return await make_agent(db, store, "ola@acme.test", "Ola Nowak", language="pl")


@pytest.fixture
async def stranger(db: AsyncSession, other_store: Store) -> Agent:
    return await make_agent(db, other_store, "eve@other.test", "Eve Other")


async def customer_ticket(db: AsyncSession, channel: Channel, key: str) -> int:
    """A customer's message through the inbound path: the id of its new ticket."""
    result = await inbound.ingest(db, InboundMessage(
        store_id=channel.store_id, channel_id=channel.id, channel_type=channel.type,
        external_id=f"m-{key}",
        sender=SenderIdentity(IdentityKind.EMAIL, f"{key}@example.pl", "Ewa Kowalska"),
        subject="Paczka", text="Kiedy wyślecie paczkę?", hints=ThreadHints(thread_key=key),
    ))
    assert result.ticket_id is not None
    return result.ticket_id


@pytest.fixture
async def ticket_id(db: AsyncSession, api_channel: tuple[Channel, str]) -> int:
    return await customer_ticket(db, api_channel[0], "ours")


@pytest.fixture
async def foreign_ticket_id(db: AsyncSession, other_channel: tuple[Channel, str]) -> int:
    return await customer_ticket(db, other_channel[0], "theirs")


# Signing in sets an agent online for routing, which every socket of the store hears about.
NOISE = ("ping", "agent.availability_changed")


async def next_frame(ws: ClientConnection, *, timeout: float = 5.0,
                     skip: tuple[str, ...] = NOISE) -> Frame:
    """The next frame whose type is not in `skip`."""
    async with asyncio.timeout(timeout):
        while True:
            frame: Frame = json.loads(await ws.recv())
            if frame.get("type") not in skip:
                return frame


async def wait_for(ws: ClientConnection, check: Callable[[Frame], bool], *,
                   timeout: float = 5.0) -> Frame:
    """Read frames until one passes `check`."""
    async with asyncio.timeout(timeout):
        while True:
            frame = await next_frame(ws, timeout=timeout)
            if check(frame):
                return frame


def names(frame: Frame, key: str) -> list[str]:
    return [entry["name"] for entry in frame[key]]
