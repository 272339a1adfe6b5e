"""GET /ws: signed in by the session cookie, same-origin only, the store's events and nobody
else's."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from sellerdesk.accounts.models import Agent, Store
from sellerdesk.channels.models import Channel
from sellerdesk.core.db import Database, commit
from sellerdesk.realtime import gateway
from sellerdesk.realtime.bus import bus
from sellerdesk.tickets.events import publish_after_commit
from tests.conftest import bearer
from tests.realtime.conftest import LiveServer, next_frame


def inbound(thread: str, external_id: str) -> dict[str, object]:
    return {"external_id": external_id, "thread_key": thread,
            "from": {"name": "Ewa Nowak", "email": "ewa@example.pl"},
            "subject": "Zwrot", "text": "Proszę o zwrot pieniędzy."}


async def closed_code(ws: ClientConnection) -> int:
    """Read until the server closes the socket; its close code."""

    async def drain() -> None:
        async with asyncio.timeout(5):
            while True:
                await ws.recv()

    with pytest.raises(ConnectionClosed) as closed:
        await drain()
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def test_socket_without_a_session_is_closed_with_4401(live_server: LiveServer) -> None:
    # Given no cookie, then a cookie whose signature is forged
    for cookie in (None, "sd_session=not-a-signed-token"):
        # When the browser opens the socket
        async with live_server.socket(cookie) as ws:
            # Then the server closes it with 4401 before sending anything
            assert await closed_code(ws) == gateway.CLOSE_UNAUTHORIZED


async def test_socket_of_a_signed_out_session_is_closed_with_4401(
    live_server: LiveServer, anna: Agent
) -> None:
    # Given a session cookie whose session was signed out
    browser = live_server.http()
    cookie = await live_server.session_cookie(anna.email)
    browser.headers["Cookie"] = cookie
    profile = await browser.get("/profile")
    token = profile.text.split('"X-CSRF-Token": "')[1].split('"')[0]
    assert (await browser.post("/logout", data={"csrf_token": token})).status_code == 303

    # When it opens the socket, then it is refused
    async with live_server.socket(cookie) as ws:
        assert await closed_code(ws) == gateway.CLOSE_UNAUTHORIZED


@pytest.mark.parametrize("origin", ["http://evil.test", "http://127.0.0.1.evil.test",
                                    "null", None])
async def test_socket_from_another_origin_is_refused(
    live_server: LiveServer, anna: Agent, origin: str | None
) -> None:
    # Given a valid session cookie, sent by a page of another site (or with no Origin at all)
    cookie = await live_server.session_cookie(anna.email)

    # When that page opens the socket, then the handshake is refused outright
    with pytest.raises(InvalidStatus) as refused:
        async with live_server.socket(cookie, origin=origin):
            pass
    assert refused.value.response.status_code == 403


async def test_inbound_messages_reach_the_stores_agents_and_nobody_else(
    live_server: LiveServer, anna: Agent, stranger: Agent, other_store: Store,
    api_channel: tuple[Channel, str],
) -> None:
    # Given Anna (store acme) and Eve (another store) with open sockets
    _, token = api_channel
    api = live_server.http()
    async with live_server.agent_socket(anna.email) as mine, \
            live_server.agent_socket(stranger.email) as theirs:
        # When a customer writes through the API channel, twice in one thread
        first = await api.post("/api/v1/inbound", json=inbound("t-1", "m-1"),
                               headers=bearer(token))
        second = await api.post("/api/v1/inbound", json=inbound("t-1", "m-2"),
                                headers=bearer(token))
        assert first.status_code == 201, first.text
        assert second.status_code == 201, second.text
        ticket_id = first.json()["ticket_id"]

        # Then Anna's socket receives the new ticket, then the new message
        assert await next_frame(mine) == {"type": "ticket.created", "ticket_id": ticket_id,
                                          "message_id": first.json()["message_id"]}
        assert await next_frame(mine) == {"type": "message.created", "ticket_id": ticket_id,
                                          "message_id": second.json()["message_id"]}
        # And Eve's socket received neither: the first thing after them is her store's own
        await bus.publish(other_store.id, {"type": "ticket.updated", "ticket_id": 999})
        assert await next_frame(theirs) == {"type": "ticket.updated", "ticket_id": 999}


async def test_heartbeat_pings_and_notices_a_signed_out_session(
    live_server: LiveServer, anna: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given short heartbeat and re-check intervals, and Anna's open socket
    monkeypatch.setattr(gateway, "HEARTBEAT_SECONDS", 0.2)
    monkeypatch.setattr(gateway, "REVALIDATE_SECONDS", 0.3)
    browser = live_server.http()
    cookie = await live_server.session_cookie(anna.email)
    browser.headers["Cookie"] = cookie
    async with live_server.socket(cookie) as ws:
        assert (await next_frame(ws))["type"] == "ready"
        # Then it is pinged
        assert await next_frame(ws, skip=()) == {"type": "ping"}

        # When she signs out in another tab
        profile = await browser.get("/profile")
        csrf = profile.text.split('"X-CSRF-Token": "')[1].split('"')[0]
        assert (await browser.post("/logout", data={"csrf_token": csrf})).status_code == 303

        # Then the socket is closed as unauthorized at the next check
        assert await closed_code(ws) == gateway.CLOSE_UNAUTHORIZED


async def test_bad_frames_get_an_error_and_oversized_ones_close_the_socket(
    live_server: LiveServer, anna: Agent
) -> None:
    async with live_server.agent_socket(anna.email) as ws:
        # When the client sends what is not a JSON object, an unknown op, a bad ticket id
        for frame, code, field in [
            ("not json", "live.bad_frame", None),
            ("[1, 2]", "live.bad_frame", None),
            (json.dumps({"op": "dance"}), "live.unknown_op", "op"),
            (json.dumps({"op": "view", "ticket_id": "7"}), "live.bad_frame", "ticket_id"),
            (json.dumps({"op": "view", "ticket_id": True}), "live.bad_frame", "ticket_id"),
            (json.dumps({"op": "typing", "ticket_id": 7}), "live.not_viewing", "ticket_id"),
        ]:
            await ws.send(frame)
            # Then each gets an error naming the problem, and the socket stays open
            error = (await next_frame(ws))["error"]
            assert (error["code"], error["field"]) == (code, field), frame
        await ws.send(json.dumps({"op": "ping"}))
        assert await next_frame(ws) == {"type": "pong"}

        # When it sends an oversized frame, then the socket is closed with 1009
        await ws.send(json.dumps({"op": "ping", "pad": "x" * 2000}))
        assert await closed_code(ws) == gateway.CLOSE_TOO_BIG


async def test_a_flooding_client_is_closed_with_1008(
    live_server: LiveServer, anna: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway, "MAX_OPS", 5)
    async with live_server.agent_socket(anna.email) as ws:
        for _ in range(6):
            await ws.send(json.dumps({"op": "ping"}))
        assert await closed_code(ws) == gateway.CLOSE_POLICY


async def test_event_published_from_a_worker_thread_arrives(
    live_server: LiveServer, anna: Agent, store: Store
) -> None:
    # Given Anna's open socket on the server's event loop, which (in debug mode) refuses any
    # loop operation from another thread
    loop = asyncio.get_running_loop()
    loop.set_debug(True)
    try:
        async with live_server.agent_socket(anna.email) as ws:
            # When a job worker thread, with its own event loop and database session as
            # jobs/runtime.py runs jobs, commits and so publishes an event
            event = {"type": "message.delivery", "ticket_id": 5, "message_id": 9,
                     "status": "sent"}

            async def job() -> None:
                database = Database("sqlite+aiosqlite:///:memory:")
                try:
                    async with database.sessionmaker() as job_db:
                        publish_after_commit(job_db, store.id, event)
                        await commit(job_db)
                finally:
                    await database.dispose()

            def worker() -> None:
                job_loop = asyncio.new_event_loop()
                try:
                    job_loop.run_until_complete(job())
                finally:
                    job_loop.close()

            await asyncio.to_thread(worker)

            # Then the socket receives it, handed over to the server's loop thread-safely
            assert await next_frame(ws, timeout=2) == event
    finally:
        loop.set_debug(False)
