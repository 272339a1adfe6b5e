"""Collision warnings: who views a ticket and who is typing, for the store's agents only."""

from __future__ import annotations

import json

import pytest

from sellerdesk.accounts.models import Agent, Store
from sellerdesk.realtime import presence as presence_module
from sellerdesk.realtime.bus import bus
from sellerdesk.realtime.presence import Presence, entry_event
from tests.realtime.conftest import LiveServer, names, next_frame, wait_for


def view(ticket_id: int | None) -> str:
    return json.dumps({"op": "view", "ticket_id": ticket_id})


def typing(ticket_id: int) -> str:
    return json.dumps({"op": "typing", "ticket_id": ticket_id})


async def test_viewing_and_typing_reach_the_other_agent_and_end_when_the_socket_closes(
    live_server: LiveServer, anna: Agent, ola: Agent, stranger: Agent, other_store: Store,
    ticket_id: int,
) -> None:
    async with live_server.agent_socket(anna.email) as annas, \
            live_server.agent_socket(stranger.email) as eves:
        # Given Anna views the ticket
        await annas.send(view(ticket_id))
        first = await next_frame(annas)
        assert first == {"type": "presence", "ticket_id": ticket_id,
                         "viewing": [{"agent_id": anna.id, "name": "Anna Kowalska"}],
                         "typing": []}

        async with live_server.agent_socket(ola.email) as olas:
            # When Ola opens the same ticket
            await olas.send(view(ticket_id))

            # Then both are told that both view it (each page hides its own agent)
            both = ["Anna Kowalska", "Ola Nowak"]
            seen = await wait_for(annas, lambda f: names(f, "viewing") == both)
            assert seen["ticket_id"] == ticket_id
            assert seen["typing"] == []
            await wait_for(olas, lambda f: names(f, "viewing") == both)

            # When Ola types a reply
            await olas.send(typing(ticket_id))

            # Then Anna is told that Ola is typing
            typed = await wait_for(annas, lambda f: f["typing"] != [])
            assert typed["typing"] == [{"agent_id": ola.id, "name": "Ola Nowak"}]
            assert names(typed, "viewing") == both

        # When Ola's socket closes, then Anna is told that she alone is left
        left = await wait_for(annas, lambda f: names(f, "viewing") == ["Anna Kowalska"])
        assert left["typing"] == []

        # And Eve, of another store, was told nothing of it
        await bus.publish(other_store.id, {"type": "ticket.updated", "ticket_id": 999})
        assert await next_frame(eves) == {"type": "ticket.updated", "ticket_id": 999}


async def test_leaving_a_ticket_page_ends_the_viewing(
    live_server: LiveServer, anna: Agent, ola: Agent, ticket_id: int
) -> None:
    async with live_server.agent_socket(anna.email) as annas, \
            live_server.agent_socket(ola.email) as olas:
        await annas.send(view(ticket_id))
        await olas.send(view(ticket_id))
        await wait_for(annas, lambda f: names(f, "viewing") == ["Anna Kowalska", "Ola Nowak"])

        # When Ola goes back to the inbox
        await olas.send(view(None))

        # Then Anna is told that she alone views the ticket
        await wait_for(annas, lambda f: names(f, "viewing") == ["Anna Kowalska"])


async def test_typing_expires_without_new_reports(
    live_server: LiveServer, anna: Agent, ola: Agent, ticket_id: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(presence_module, "TYPING_TTL", 0.4)
    async with live_server.agent_socket(anna.email) as annas, \
            live_server.agent_socket(ola.email) as olas:
        await annas.send(view(ticket_id))
        await olas.send(view(ticket_id))
        await olas.send(typing(ticket_id))
        await wait_for(annas, lambda f: names(f, "typing") == ["Ola Nowak"])

        # When Ola stops typing, then Anna is told so once the typing has lapsed
        stopped = await wait_for(annas, lambda f: f["typing"] == [], timeout=3)
        assert names(stopped, "viewing") == ["Anna Kowalska", "Ola Nowak"]


async def test_another_stores_ticket_is_refused_and_announces_nothing(
    live_server: LiveServer, anna: Agent, stranger: Agent, store: Store, other_store: Store,
    foreign_ticket_id: int,
) -> None:
    async with live_server.agent_socket(anna.email) as annas, \
            live_server.agent_socket(stranger.email) as eves:
        await eves.send(view(foreign_ticket_id))
        await wait_for(eves, lambda f: f["type"] == "presence")

        # When Anna claims to view a ticket of the other store
        await annas.send(view(foreign_ticket_id))

        # Then she gets a not-found error (as that store's pages answer 404) ...
        error = await next_frame(annas)
        assert error["error"]["code"] == "ticket.not_found"
        assert error["error"]["field"] == "ticket_id"
        # ... typing on it is refused too ...
        await annas.send(typing(foreign_ticket_id))
        assert (await next_frame(annas))["error"]["code"] == "live.not_viewing"
        # ... and nobody was told she views anything: the next thing either socket gets is
        # an ordinary event of its own store
        await bus.publish(store.id, {"type": "ticket.updated", "ticket_id": 1})
        assert await next_frame(annas) == {"type": "ticket.updated", "ticket_id": 1}
        await bus.publish(other_store.id, {"type": "ticket.updated", "ticket_id": 2})
        assert await next_frame(eves) == {"type": "ticket.updated", "ticket_id": 2}


def test_presence_dedupes_an_agents_tabs_and_expires_stale_entries() -> None:
    # Given a clock we move by hand
    clock = [100.0]
    registry = Presence(clock=lambda: clock[0])
    registry.apply(1, entry_event(conn="a:1", agent_id=7, name="Zofia", ticket_id=3))
    registry.apply(1, entry_event(conn="a:2", agent_id=7, name="Zofia", ticket_id=3,
                                  typing_for=5))
    registry.apply(1, entry_event(conn="b:1", agent_id=8, name="adam", ticket_id=3))
    registry.apply(2, entry_event(conn="c:1", agent_id=9, name="Other", ticket_id=3))

    # Then one agent with two tabs is listed once, names in order, stores apart
    snap = registry.snapshot(1, 3)
    assert snap.viewing == ((8, "adam"), (7, "Zofia"))
    assert snap.typing == ((7, "Zofia"),)
    assert registry.snapshot(2, 3).viewing == ((9, "Other"),)
    assert registry.next_change(1, [3]) == 5.0

    # When typing lapses, and later every entry outlives its announcement
    clock[0] += 5.0
    assert registry.snapshot(1, 3).typing == ()
    clock[0] += presence_module.VIEW_TTL
    assert not registry.snapshot(1, 3)

    # A closed connection leaves at once
    registry.apply(2, entry_event(conn="c:1", agent_id=9, name="Other", ticket_id=None))
    assert not registry.snapshot(2, 3)
