"""`GET /ws`: the workspace's live connection.

The browser's session cookie signs the socket in (the same session as the pages); the Origin
must be this site's, or another site could open a socket with the agent's cookie. The socket
receives every live event of the agent's store as JSON, a `ping` every `HEARTBEAT_SECONDS`, and
`presence` events for collision warnings. The browser sends `{"op": "view", "ticket_id": N}`
(or `null` when it leaves a ticket page) and `{"op": "typing", "ticket_id": N}` while the agent
writes a reply.

Close codes: 4401 no valid session (sign in again; don't reconnect), 1008 a foreign Origin or a
client that floods, 1009 an oversized frame, 1011 the event bus failed (reconnect).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, WebSocket
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.websockets import WebSocketDisconnect, WebSocketState

from sellerdesk.accounts.models import Agent
from sellerdesk.accounts.signin import session_agent
from sellerdesk.core import context
from sellerdesk.realtime import presence as live_presence
from sellerdesk.realtime.bus import Event, bus, encode
from sellerdesk.realtime.errors import LiveError
from sellerdesk.realtime.presence import EMPTY, ENTRY, Snapshot, entry_event, presence
from sellerdesk.tickets.errors import TicketError
from sellerdesk.tickets.models import Ticket
from sellerdesk.web.cookies import session_token

log = logging.getLogger(__name__)

router = APIRouter()

HEARTBEAT_SECONDS = 25.0  # a ping to the browser and a presence re-announcement
REVALIDATE_SECONDS = 120.0  # a signed-out or deactivated agent's socket closes within this
MAX_FRAME_CHARS = 1024
MAX_OPS = 40  # frames a client may send per OPS_WINDOW seconds
OPS_WINDOW = 10.0
TYPING_GAP = 1.0  # typing reports closer together than this are not re-announced

CLOSE_UNAUTHORIZED = 4401
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_ERROR = 1011

_NODE = uuid.uuid4().hex[:12]  # tells this process's connections from other machines'
_serial = itertools.count(1)

Sessions = Callable[[], AbstractAsyncContextManager[AsyncSession]]


def live_sessions() -> Sessions:
    """Short read sessions: a socket lives for hours and must not hold a pooled connection."""
    return context.get().database.read_sessionmaker


LiveSessions = Annotated[Sessions, Depends(live_sessions)]


def origin_allowed(websocket: WebSocket) -> bool:
    """The handshake's Origin is the configured public URL's, or the Host it was sent to."""
    origin = websocket.headers.get("origin")
    if not origin:
        return False
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    public = urlsplit(context.get().settings.public_url)
    if (parts.scheme, parts.netloc.lower()) == (public.scheme, public.netloc.lower()):
        return True
    host = websocket.headers.get("host", "")
    return bool(host) and parts.netloc.lower() == host.lower()


@router.websocket("/ws")
async def live(websocket: WebSocket, sessions: LiveSessions) -> None:
    if not origin_allowed(websocket):
        # Refused before the handshake completes: a foreign page learns nothing.
        await websocket.close(code=CLOSE_POLICY)
        return
    # session_token reads only the cookies, which the handshake carries like any request.
    token = session_token(websocket)
    found = None
    if token:
        async with sessions() as db:
            found = await session_agent(db, token=token)
    await websocket.accept()
    if token is None or found is None:
        # Accepted first so that the browser sees the code (a refused handshake is opaque).
        await websocket.close(code=CLOSE_UNAUTHORIZED)
        return
    _, agent = found
    await LiveConnection(websocket, sessions, agent, token).run()


_last_encoded: tuple[Event | None, str] = (None, "")


def _encoded(event: Event) -> str:
    """JSON of an event; the bus hands one event object to every socket, so encode it once."""
    global _last_encoded
    last, text = _last_encoded
    if event is not last:
        text = encode(event)
        _last_encoded = (event, text)
    return text


class _Closed(Exception):
    """The connection is over (closed by us with a code, or by the client)."""


class LiveConnection:
    """One agent's socket: events out, view/typing reports in, presence both ways."""

    def __init__(self, websocket: WebSocket, sessions: Sessions, agent: Agent,
                 token: str) -> None:
        self.websocket = websocket
        self.sessions = sessions
        self.token = token
        self.store_id = agent.store_id
        self.agent_id = agent.id
        self.name = agent.name
        self.conn = f"{_NODE}:{next(_serial)}"
        self.viewing: int | None = None
        self.typing_until = 0.0
        self.last_typing = 0.0
        self.told: dict[int, Snapshot] = {}  # the presence this client was last sent
        self._send_lock = asyncio.Lock()
        self._ops: list[float] = []

    async def run(self) -> None:
        try:
            async with bus.subscribe(self.store_id) as queue:
                await self.send({"type": "ready", "agent_id": self.agent_id})
                await self._serve(queue)
        except (_Closed, WebSocketDisconnect):
            pass
        except Exception:
            log.exception("live connection of agent %s failed", self.agent_id)
            await self.close(CLOSE_ERROR)
        finally:
            if self.viewing is not None:
                self.viewing = None
                with contextlib.suppress(Exception):
                    await self.announce()

    async def _serve(self, queue: asyncio.Queue[Event]) -> None:
        reader = asyncio.create_task(self._read(), name=f"live-read-{self.conn}")
        writer = asyncio.create_task(self._write(queue), name=f"live-write-{self.conn}")
        try:
            done, _ = await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # re-raise what ended it
        finally:
            for task in (reader, writer):
                task.cancel()
            await asyncio.gather(reader, writer, return_exceptions=True)

    # --- out: events, heartbeat, presence ------------------------------------------------------

    async def send(self, event: Event) -> None:
        async with self._send_lock:
            if self.websocket.client_state != WebSocketState.CONNECTED:
                raise _Closed
            try:
                await self.websocket.send_text(_encoded(event))
            except (WebSocketDisconnect, RuntimeError, OSError) as exc:
                raise _Closed from exc

    async def close(self, code: int) -> None:
        async with self._send_lock:
            if self.websocket.client_state == WebSocketState.CONNECTED:
                with contextlib.suppress(Exception):
                    await self.websocket.close(code=code)

    async def _write(self, queue: asyncio.Queue[Event]) -> None:
        loop = asyncio.get_running_loop()
        heartbeat_at = loop.time() + HEARTBEAT_SECONDS
        revalidate_at = loop.time() + REVALIDATE_SECONDS
        while True:
            wait = heartbeat_at - loop.time()
            change = presence.next_change(self.store_id, self.told)
            if change is not None:
                wait = min(wait, change + 0.05)
            event: Event | None = None
            with contextlib.suppress(TimeoutError):
                event = await asyncio.wait_for(queue.get(), max(wait, 0.0))
            if event is not None:
                await self._deliver(event)
            else:
                await self._refresh(())
            now = loop.time()
            if now >= heartbeat_at:
                heartbeat_at = now + HEARTBEAT_SECONDS
                if now >= revalidate_at:
                    revalidate_at = now + REVALIDATE_SECONDS
                    await self._revalidate()
                await self.send({"type": "ping"})
                if self.viewing is not None:
                    await self.announce()

    async def _deliver(self, event: Event) -> None:
        if event.get("type") != ENTRY:
            await self.send(event)
            return
        presence.apply(self.store_id, event)
        ticket_id = event.get("ticket_id")
        await self._refresh((ticket_id,) if isinstance(ticket_id, int) else ())
        if (event.get("hello") and event.get("conn") != self.conn
                and self.viewing is not None and ticket_id == self.viewing):
            # A newcomer (maybe on another machine) learns who is already here.
            await self.announce()

    async def _refresh(self, tickets: tuple[int, ...]) -> None:
        """Tell the client about tickets whose presence differs from what it was told."""
        for ticket_id in {*self.told, *tickets}:
            snapshot = presence.snapshot(self.store_id, ticket_id)
            if snapshot == self.told.get(ticket_id, EMPTY):
                continue
            if snapshot:
                self.told[ticket_id] = snapshot
            else:
                self.told.pop(ticket_id, None)
            await self.send(snapshot.event(ticket_id))

    async def announce(self, *, hello: bool = False) -> None:
        remaining = self.typing_until - time.monotonic()
        event = entry_event(conn=self.conn, agent_id=self.agent_id, name=self.name,
                            ticket_id=self.viewing, typing_for=remaining, hello=hello)
        # Applied here at once too: the bus echoes it, but a closing socket gets no echo.
        presence.apply(self.store_id, event)
        await bus.publish(self.store_id, event)

    async def _revalidate(self) -> None:
        async with self.sessions() as db:
            found = await session_agent(db, token=self.token)
        if found is None:
            await self.close(CLOSE_UNAUTHORIZED)
            raise _Closed

    # --- in: view and typing reports --------------------------------------------------------------

    async def _read(self) -> None:
        while True:
            try:
                message = await self.websocket.receive()
            except RuntimeError as exc:  # closed by the writer meanwhile
                raise _Closed from exc
            if message["type"] == "websocket.disconnect":
                raise _Closed
            text = message.get("text")
            if text is None:
                await self.error(LiveError.BAD_FRAME, "send JSON text frames")
                continue
            if len(text) > MAX_FRAME_CHARS:
                await self.close(CLOSE_TOO_BIG)
                raise _Closed
            if self._flooding():
                await self.close(CLOSE_POLICY)
                raise _Closed
            await self._handle(text)

    def _flooding(self) -> bool:
        now = time.monotonic()
        self._ops = [t for t in self._ops if t > now - OPS_WINDOW]
        self._ops.append(now)
        return len(self._ops) > MAX_OPS

    async def _handle(self, text: str) -> None:
        try:
            frame = json.loads(text)
        except ValueError:
            frame = None
        if not isinstance(frame, dict):
            await self.error(LiveError.BAD_FRAME, "a frame is a JSON object with an 'op'")
            return
        op = frame.get("op")
        ticket_id = frame.get("ticket_id")
        if ticket_id is not None and (not isinstance(ticket_id, int)
                                      or isinstance(ticket_id, bool) or ticket_id < 1):
            await self.error(LiveError.BAD_FRAME, "ticket_id must be a positive integer or null",
                             field="ticket_id")
            return
        if op == "view":
            await self._view(ticket_id)
        elif op == "typing":
            await self._typing(ticket_id)
        elif op == "ping":
            await self.send({"type": "pong"})
        else:
            await self.error(LiveError.UNKNOWN_OP, "op must be 'view', 'typing' or 'ping'",
                             field="op")

    async def _view(self, ticket_id: int | None) -> None:
        if ticket_id == self.viewing:
            return
        if ticket_id is not None and not await self._own_ticket(ticket_id):
            await self.error(TicketError.NOT_FOUND, f"ticket {ticket_id} not found",
                             field="ticket_id")
            return
        self.viewing = ticket_id
        self.typing_until = 0.0
        await self.announce(hello=ticket_id is not None)

    async def _typing(self, ticket_id: int | None) -> None:
        if ticket_id is None or ticket_id != self.viewing:
            await self.error(LiveError.NOT_VIEWING, "send 'view' for the ticket first",
                             field="ticket_id")
            return
        now = time.monotonic()
        was_typing = self.typing_until > now
        self.typing_until = now + live_presence.TYPING_TTL
        if was_typing and now - self.last_typing < TYPING_GAP:
            return
        self.last_typing = now
        await self.announce()

    async def _own_ticket(self, ticket_id: int) -> bool:
        async with self.sessions() as db:
            found = await db.scalar(select(Ticket.id).where(Ticket.id == ticket_id,
                                                            Ticket.store_id == self.store_id))
        return found is not None

    async def error(self, code: str, message: str, *, field: str | None = None) -> None:
        await self.send({"type": "error", "error": {"code": str(code), "message": message,
                                                    "field": field}})
