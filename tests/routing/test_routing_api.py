"""The routing API: agents' availability and routing, teams' routing and queue, store defaults;
bad input, another store's ids, and who may call what."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.models import Store
from sellerdesk.accounts.permissions import Role
from sellerdesk.automation.routing.models import AgentRouting
from sellerdesk.channels.models import Channel
from sellerdesk.jobs import outbox
from sellerdesk.tickets.models import AuditEvent
from tests.api.support import API, error_of, inbound, snapshot
from tests.conftest import TokenFactory, bearer
from tests.routing.conftest import Desk, go, set_mode

ALL = frozenset(Role)
MANAGERS = frozenset({Role.OWNER, Role.ADMIN, Role.MANAGER})


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # {agent}, {team}, {other_agent}, {other_team} are filled in
    body: dict[str, Any] | None = None
    roles: frozenset[Role] = ALL

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"

    async def send(self, client: httpx.AsyncClient, ids: dict[str, int],
                   headers: dict[str, str]) -> httpx.Response:
        return await client.request(self.method, API + self.path.format(**ids), json=self.body,
                                    headers=headers)


CALLS = [
    Call("GET", "/agents"),
    Call("GET", "/agents/{agent}/routing"),
    Call("PUT", "/agents/{agent}/availability", {"availability": "online"}, MANAGERS),
    Call("PATCH", "/agents/{agent}/routing", {"languages": ["ko"]}, MANAGERS),
    Call("GET", "/teams/{team}/routing"),
    Call("PATCH", "/teams/{team}/routing", {"mode": "round_robin"}, MANAGERS),
    Call("GET", "/teams/{team}/routing/queue"),
    Call("GET", "/routing/settings"),
    Call("PATCH", "/routing/settings", {"capacities": {"chat": 2}}, MANAGERS),
]

FOREIGN = [
    (Call("GET", "/agents/{other_agent}/routing"), "agent.not_found"),
    (Call("PUT", "/agents/{other_agent}/availability", {"availability": "online"}),
     "agent.not_found"),
    (Call("PATCH", "/agents/{other_agent}/routing", {"capacities": {"chat": 9}}),
     "agent.not_found"),
    (Call("GET", "/teams/{other_team}/routing"), "team.not_found"),
    (Call("PATCH", "/teams/{other_team}/routing", {"mode": "round_robin"}), "team.not_found"),
    (Call("GET", "/teams/{other_team}/routing/queue"), "team.not_found"),
]


@pytest.fixture
async def ids(db: AsyncSession, desk: Desk, other_store: Store) -> dict[str, int]:
    other_agent = await accounts.create_agent(db, store_id=other_store.id,
                                              email="zed@other.test", name="Zed", role=Role.AGENT)
    other_team = await accounts.create_team(db, store_id=other_store.id, name="Other",
                                            agent_ids=[other_agent.id])
    return {"agent": desk.agents[0].id, "team": desk.team.id, "other_agent": other_agent.id,
            "other_team": other_team.id}


async def audit_of(db: AsyncSession, action: str) -> list[tuple[Any, ...]]:
    rows = await db.execute(
        select(AuditEvent.entity_id, AuditEvent.actor_type, AuditEvent.before, AuditEvent.after)
        .where(AuditEvent.action == action).order_by(AuditEvent.id))
    return [tuple(r) for r in rows]


# --- reading ------------------------------------------------------------------------------------

async def test_agents_are_listed_with_availability_capacity_load_and_teams(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], desk: Desk
) -> None:
    # given ann online with one urgent chat assigned by routing
    ann = desk.agents[0]
    await set_mode(db, desk, "load_balanced")
    await go(db, ann, "online")
    await desk.receive(db, 1, priority="urgent")

    # when
    response = await client.get(f"{API}/agents", headers=admin)

    # then
    assert response.status_code == 200
    body = response.json()
    assert [a["name"] for a in body] == ["Ann", "Bob", "Cat"]
    row = await db.get(AgentRouting, ann.id)
    assert row is not None
    assert row.availability_changed_at is not None
    changed = row.availability_changed_at
    assert body[0] == {
        "id": ann.id, "name": "Ann", "email": "ann@acme.test", "role": "agent",
        "is_active": True, "availability": "online",
        "availability_changed_at": changed.isoformat().replace("+00:00", "Z"),
        "languages": ["en"], "skills": [], "capacities": {},
        "effective_capacities": {"api": None, "email": None, "chat": 3, "webform": None,
                                 "marketplace": None, "social": None},
        "load": {"chat": 1}, "weighted_load": 4, "team_ids": [desk.team.id],
    }
    assert (body[1]["availability"], body[1]["load"], body[1]["weighted_load"]) == (
        "offline", {}, 0)


async def test_team_routing_and_queue_are_read(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], desk: Desk
) -> None:
    # given a round-robin team nobody is online in, with a normal and an urgent chat waiting
    await set_mode(db, desk, "round_robin")
    normal = await desk.receive(db, 1)
    urgent = await desk.receive(db, 2, priority="urgent")

    # when
    team = await client.get(f"{API}/teams/{desk.team.id}/routing", headers=admin)
    queue = await client.get(f"{API}/teams/{desk.team.id}/routing/queue", headers=admin)

    # then
    assert team.status_code == 200
    body = team.json()
    assert body == {
        "team_id": desk.team.id, "name": "Support", "mode": "round_robin",
        "channel_ids": sorted([desk.chat.id, desk.email.id]),
        "agent_ids": [a.id for a in desk.agents], "queued": 2, "updated_at": body["updated_at"],
    }
    assert body["updated_at"] is not None
    assert queue.json() == {"team_id": desk.team.id, "ticket_ids": [urgent.id, normal.id]}


async def test_store_defaults_start_with_three_chats_and_rerouting_chat(
    client: httpx.AsyncClient, admin: dict[str, str], desk: Desk
) -> None:
    response = await client.get(f"{API}/routing/settings", headers=admin)

    assert response.status_code == 200
    assert response.json() == {"capacities": {"chat": 3}, "reroute_on_offline": ["chat"],
                               "updated_at": None}


# --- writing ------------------------------------------------------------------------------------

async def test_an_agent_sets_their_own_availability(
    client: httpx.AsyncClient, db: AsyncSession, make_token: TokenFactory, desk: Desk
) -> None:
    # given bob's own token (role agent)
    bob = desk.agents[1]
    headers = bearer(await make_token(desk.store, Role.AGENT, agent_id=bob.id))

    # when bob goes online, then online again
    response = await client.put(f"{API}/agents/{bob.id}/availability",
                                json={"availability": "online"}, headers=headers)
    again = await client.put(f"{API}/agents/{bob.id}/availability",
                             json={"availability": "online"}, headers=headers)

    # then it is recorded once, as bob's doing
    assert response.status_code == 200
    assert response.json()["availability"] == "online"
    assert again.status_code == 200
    assert await audit_of(db, "agent.availability_changed") == [
        (bob.id, "agent", {"availability": "offline"}, {"availability": "online"})]


async def test_an_agent_cannot_set_someone_elses_availability_but_a_manager_can(
    client: httpx.AsyncClient, db: AsyncSession, make_token: TokenFactory, desk: Desk
) -> None:
    ann, bob, _ = desk.agents
    as_bob = bearer(await make_token(desk.store, Role.AGENT, agent_id=bob.id))
    manager = await accounts.create_agent(db, store_id=desk.store.id, email="meg@acme.test",
                                          name="Meg", role=Role.MANAGER)
    as_manager = bearer(await make_token(desk.store, Role.MANAGER, agent_id=manager.id))
    before = await snapshot(db)

    refused = await client.put(f"{API}/agents/{ann.id}/availability",
                               json={"availability": "online"}, headers=as_bob)

    assert refused.status_code == 403
    assert error_of(refused)["code"] == "access.forbidden"
    assert await snapshot(db) == before
    allowed = await client.put(f"{API}/agents/{ann.id}/availability",
                               json={"availability": "away"}, headers=as_manager)
    assert allowed.status_code == 200
    assert allowed.json()["availability"] == "away"


async def test_a_viewer_cannot_go_online(
    client: httpx.AsyncClient, db: AsyncSession, make_token: TokenFactory, desk: Desk
) -> None:
    viewer = await accounts.create_agent(db, store_id=desk.store.id, email="vic@acme.test",
                                         name="Vic", role=Role.VIEWER)
    headers = bearer(await make_token(desk.store, Role.VIEWER, agent_id=viewer.id))
    before = await snapshot(db)

    response = await client.put(f"{API}/agents/{viewer.id}/availability",
                                json={"availability": "online"}, headers=headers)

    assert response.status_code == 403
    assert await snapshot(db) == before


async def test_a_manager_sets_an_agents_languages_skills_and_capacity(
    client: httpx.AsyncClient, db: AsyncSession, make_token: TokenFactory, desk: Desk
) -> None:
    ann = desk.agents[0]
    headers = bearer(await make_token(desk.store, Role.MANAGER))

    response = await client.patch(
        f"{API}/agents/{ann.id}/routing", headers=headers,
        json={"languages": ["ko", "EN", "ko"], "skills": [" Returns ", "amazon"],
              "capacities": {"chat": 5, "email": None}})

    assert response.status_code == 200
    body = response.json()
    assert (body["languages"], body["skills"], body["capacities"]) == (
        ["ko", "en"], ["returns", "amazon"], {"chat": 5, "email": None})
    assert (body["effective_capacities"]["chat"], body["effective_capacities"]["email"]) == (
        5, None)
    assert await audit_of(db, "agent.routing_updated") == [
        (ann.id, "token", {"languages": [], "skills": [], "capacities": {}},
         {"languages": ["ko", "en"], "skills": ["returns", "amazon"],
          "capacities": {"chat": 5, "email": None}})]


async def test_a_manager_sets_a_teams_mode_and_channels(
    client: httpx.AsyncClient, db: AsyncSession, make_token: TokenFactory, desk: Desk
) -> None:
    headers = bearer(await make_token(desk.store, Role.MANAGER))

    response = await client.patch(f"{API}/teams/{desk.team.id}/routing", headers=headers,
                                  json={"mode": "skills", "channel_ids": [desk.chat.id]})

    assert response.status_code == 200
    assert (response.json()["mode"], response.json()["channel_ids"]) == ("skills",
                                                                         [desk.chat.id])
    assert await audit_of(db, "team.routing_updated") == [
        (desk.team.id, "system", {"channel_ids": []},
         {"channel_ids": sorted([desk.chat.id, desk.email.id])}),
        (desk.team.id, "token", {"mode": "manual",
                                 "channel_ids": sorted([desk.chat.id, desk.email.id])},
         {"mode": "skills", "channel_ids": [desk.chat.id]}),
    ]


async def test_store_defaults_are_changed(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], desk: Desk
) -> None:
    response = await client.patch(
        f"{API}/routing/settings", headers=admin,
        json={"capacities": {"chat": 2, "email": 20}, "reroute_on_offline": ["email", "chat"]})

    assert response.status_code == 200
    body = response.json()
    assert (body["capacities"], body["reroute_on_offline"]) == (
        {"chat": 2, "email": 20}, ["chat", "email"])
    agents = (await client.get(f"{API}/agents", headers=admin)).json()
    assert agents[0]["effective_capacities"]["email"] == 20


# --- bad input ----------------------------------------------------------------------------------

BAD = [
    (Call("PUT", "/agents/{agent}/availability", {"availability": "busy"}),
     "request.invalid", "availability"),
    (Call("PUT", "/agents/{agent}/availability", {}), "request.invalid", "availability"),
    (Call("PATCH", "/agents/{agent}/routing", {"capacities": {"fax": 2}}),
     "routing.unknown_channel_type", "capacities.fax"),
    (Call("PATCH", "/agents/{agent}/routing", {"capacities": {"chat": -1}}),
     "request.invalid", "capacities.chat"),
    (Call("PATCH", "/agents/{agent}/routing", {"capacities": {"chat": "many"}}),
     "request.invalid", "capacities.chat"),
    (Call("PATCH", "/agents/{agent}/routing", {"languages": ["korean"]}),
     "routing.invalid_language", "languages.0"),
    (Call("PATCH", "/agents/{agent}/routing", {"skills": ["ok", "a,b"]}),
     "routing.invalid_skill", "skills.1"),
    (Call("PATCH", "/agents/{agent}/routing", {"skills": ["   "]}),
     "routing.invalid_skill", "skills.0"),
    (Call("PATCH", "/agents/{agent}/routing", {"load": 0}), "request.invalid", "load"),
    (Call("PATCH", "/teams/{team}/routing", {"mode": "random"}), "request.invalid", "mode"),
    (Call("PATCH", "/teams/{team}/routing", {"channel_ids": [0]}),
     "request.invalid", "channel_ids.0"),
    (Call("PATCH", "/teams/{team}/routing", {"mode": "skills", "channel_ids": [10**9]}),
     "routing.unknown_channel", "channel_ids"),
    (Call("PATCH", "/routing/settings", {"capacities": {"chat": 1001}}),
     "request.invalid", "capacities.chat"),
    (Call("PATCH", "/routing/settings", {"reroute_on_offline": ["pigeon"]}),
     "routing.unknown_channel_type", "reroute_on_offline.pigeon"),
]


@pytest.mark.parametrize(("call", "code", "field"), BAD,
                         ids=[f"{c.id} {c.body}" for c, _, _ in BAD])
async def test_bad_input_names_the_field_and_changes_nothing(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], ids: dict[str, int],
    call: Call, code: str, field: str,
) -> None:
    before = await snapshot(db)

    response = await call.send(client, ids, admin)

    assert response.status_code == 422, response.text
    error = error_of(response)
    assert (error["code"], error["field"]) == (code, field)
    assert await snapshot(db) == before


async def test_a_channel_that_feeds_another_team_is_a_conflict(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], desk: Desk
) -> None:
    sales = await accounts.create_team(db, store_id=desk.store.id, name="Sales")
    before = await snapshot(db)

    response = await client.patch(f"{API}/teams/{sales.id}/routing", headers=admin,
                                  json={"mode": "round_robin", "channel_ids": [desk.chat.id]})

    assert response.status_code == 409
    error = error_of(response)
    assert (error["code"], error["field"]) == ("routing.channel_taken", "channel_ids")
    assert await snapshot(db) == before


async def test_another_stores_channel_is_unknown(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], desk: Desk,
    other_store: Store,
) -> None:
    theirs, _ = await accounts.create_channel(db, store_id=other_store.id, type="chat",
                                              name="Their chat")
    before = await snapshot(db)

    response = await client.patch(f"{API}/teams/{desk.team.id}/routing", headers=admin,
                                  json={"channel_ids": [theirs.id]})

    assert response.status_code == 422
    assert error_of(response)["code"] == "routing.unknown_channel"
    assert await snapshot(db) == before


# --- tenancy ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("call", "code"), FOREIGN, ids=[c.id for c, _ in FOREIGN])
async def test_another_stores_agent_or_team_is_not_found_and_nothing_changes(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], ids: dict[str, int],
    call: Call, code: str,
) -> None:
    before = await snapshot(db)
    missing = {**ids, "other_agent": 10**9, "other_team": 10**9}

    foreign = await call.send(client, ids, admin)
    absent = await call.send(client, missing, admin)

    assert (foreign.status_code, absent.status_code) == (404, 404)
    assert error_of(foreign)["code"] == error_of(absent)["code"] == code
    assert error_of(foreign)["field"] == error_of(absent)["field"]
    assert await snapshot(db) == before


async def test_the_agent_list_shows_only_this_stores_agents(
    client: httpx.AsyncClient, admin: dict[str, str], other_admin: dict[str, str],
    ids: dict[str, int], desk: Desk,
) -> None:
    ours = await client.get(f"{API}/agents", headers=admin)
    theirs = await client.get(f"{API}/agents", headers=other_admin)

    assert [a["id"] for a in ours.json()] == [a.id for a in desk.agents]
    assert [a["id"] for a in theirs.json()] == [ids["other_agent"]]


# --- permissions --------------------------------------------------------------------------------

GRID = [(call, role) for call in CALLS for role in Role]


@pytest.mark.parametrize(("call", "role"), GRID, ids=[f"{c.id} as {r.value}" for c, r in GRID])
async def test_every_routing_route_checks_the_role(
    client: httpx.AsyncClient, db: AsyncSession, make_token: TokenFactory, desk: Desk,
    ids: dict[str, int], call: Call, role: Role,
) -> None:
    # given a token of this role that belongs to no agent
    headers = bearer(await make_token(desk.store, role))
    before = await snapshot(db)

    response = await call.send(client, ids, headers)

    if role in call.roles:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 403, response.text
        error = error_of(response)
        assert error["code"] == "access.forbidden"
        assert role.value in error["message"]
        assert await snapshot(db) == before


# --- end to end ---------------------------------------------------------------------------------

async def test_a_message_posted_to_a_teams_api_channel_is_assigned(
    client: httpx.AsyncClient, db: AsyncSession, make_token: TokenFactory, desk: Desk,
    api_channel: tuple[Channel, str],
) -> None:
    # given, all through the API: the shop's API channel feeds a load-balanced team, and cat
    # (her own token) is online
    admin = bearer(await make_token(desk.store, Role.ADMIN))
    cat = desk.agents[2]
    channels = [desk.chat.id, desk.email.id, api_channel[0].id]
    team = await client.patch(f"{API}/teams/{desk.team.id}/routing", headers=admin,
                              json={"mode": "load_balanced", "channel_ids": channels})
    assert team.status_code == 200
    own = bearer(await make_token(desk.store, Role.AGENT, agent_id=cat.id))
    assert (await client.put(f"{API}/agents/{cat.id}/availability", headers=own,
                             json={"availability": "online"})).status_code == 200

    # when the shop posts a customer's message, and the jobs it queued run
    accepted = await inbound(client, api_channel[1])
    await outbox.run_pending(db)

    # then the ticket is in the team, cat's, and her load shows it
    ticket = (await client.get(f"{API}/tickets/{accepted['ticket_id']}", headers=admin)).json()
    assert (ticket["team_id"], ticket["assignee_id"]) == (desk.team.id, cat.id)
    me = (await client.get(f"{API}/agents/{cat.id}/routing", headers=own)).json()
    assert (me["load"], me["weighted_load"]) == ({"api": 1}, 1)
