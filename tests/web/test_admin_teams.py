"""Teams: create, rename, customer language, members."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.models import Store, Team, TeamMember
from sellerdesk.accounts.permissions import Role
from sellerdesk.tickets.models import AuditEvent
from tests.api.support import snapshot
from tests.web.admin_support import make_agent, sign_in_as


async def members(db: AsyncSession, team_id: int) -> list[int]:
    rows = await db.execute(select(TeamMember.agent_id).where(TeamMember.team_id == team_id)
                            .order_by(TeamMember.agent_id))
    return list(rows.scalars())


async def team_actions(db: AsyncSession, team_id: int) -> list[tuple[str, object]]:
    rows = await db.execute(select(AuditEvent.action, AuditEvent.after).where(
        AuditEvent.entity_type == "team", AuditEvent.entity_id == team_id)
        .order_by(AuditEvent.id))
    return [(action, after) for action, after in rows]


async def test_a_team_is_created_renamed_and_given_members(
    client: httpx.AsyncClient, db: AsyncSession, store: Store
) -> None:
    # given two agents and a signed-in admin
    ola = await make_agent(db, store, Role.AGENT, email="ola@acme.test")
    jun = await make_agent(db, store, Role.AGENT, email="jun@acme.test", language="ko")
    await sign_in_as(client, db, store, Role.ADMIN)

    # when the admin creates a team, renames it, and adds both agents, then removes one
    created = await client.post("/admin/teams", data={"name": " Zwroty ", "language": "PL"})
    team = (await db.execute(select(Team).where(Team.store_id == store.id))).scalar_one()
    renamed = await client.post(f"/admin/teams/{team.id}",
                                data={"name": "Zwroty i reklamacje", "language": "pl"})
    added = [await client.post(f"/admin/teams/{team.id}/members", data={"agent_id": str(a.id)})
             for a in (ola, jun)]
    twice = await client.post(f"/admin/teams/{team.id}/members", data={"agent_id": str(ola.id)})
    removed = await client.post(f"/admin/teams/{team.id}/members/{ola.id}/remove")

    # then every step worked and was audited once
    for response in (created, renamed, *added, twice, removed):
        assert response.status_code == 303
        assert response.headers["location"] == f"/admin/teams?saved=1#team-{team.id}"
    await db.refresh(team)
    assert (team.name, team.language) == ("Zwroty i reklamacje", "pl")
    assert await members(db, team.id) == [jun.id]
    assert [a for a, _ in await team_actions(db, team.id)] == [
        "team.created", "team.updated", "team.member_added", "team.member_added",
        "team.member_removed"]
    page = await client.get("/admin/teams")
    section = page.text.split(f'id="team-{team.id}"')[1].split("</section>")[0]
    assert "Zwroty i reklamacje" in section
    assert "jun@acme.test" in section
    assert f'/members/{jun.id}/remove' in section
    assert f'<option value="{ola.id}">' in section  # may be added again


async def test_the_language_can_be_cleared(
    client: httpx.AsyncClient, db: AsyncSession, store: Store
) -> None:
    team = await accounts.create_team(db, store_id=store.id, name="Korea", language="ko")
    await sign_in_as(client, db, store, Role.OWNER)

    response = await client.post(f"/admin/teams/{team.id}", data={"name": "Korea",
                                                                  "language": ""})

    assert response.status_code == 303
    await db.refresh(team)
    assert team.language is None


async def test_bad_names_and_languages_change_nothing(
    client: httpx.AsyncClient, db: AsyncSession, store: Store
) -> None:
    await accounts.create_team(db, store_id=store.id, name="Billing")
    team = await accounts.create_team(db, store_id=store.id, name="Returns")
    await sign_in_as(client, db, store, Role.ADMIN)
    before = await snapshot(db)

    taken = await client.post("/admin/teams", data={"name": "Billing", "language": ""})
    rename_taken = await client.post(f"/admin/teams/{team.id}",
                                     data={"name": "Billing", "language": ""})
    empty = await client.post("/admin/teams", data={"name": "  ", "language": ""})
    bad_language = await client.post("/admin/teams", data={"name": "X", "language": "polish"})
    bad_agent = await client.post(f"/admin/teams/{team.id}/members", data={"agent_id": "abc"})

    assert taken.status_code == rename_taken.status_code == 409
    assert "There is already a team with this name." in taken.text
    assert empty.status_code == 422
    assert "Enter a name" in empty.text
    assert bad_language.status_code == 422
    assert "Enter a language code such as ko, pl or en, or leave it empty." in bad_language.text
    assert 'value="polish"' in bad_language.text
    assert bad_agent.status_code == 422
    assert "Choose an agent from the list." in bad_agent.text
    assert await snapshot(db) == before


async def test_unknown_teams_and_agents_are_404(
    client: httpx.AsyncClient, db: AsyncSession, store: Store
) -> None:
    team = await accounts.create_team(db, store_id=store.id, name="Returns")
    await sign_in_as(client, db, store, Role.ADMIN)
    before = await snapshot(db)

    unknown_team = await client.post("/admin/teams/987654", data={"name": "X", "language": ""})
    unknown_agent = await client.post(f"/admin/teams/{team.id}/members",
                                      data={"agent_id": "987654"})

    assert unknown_team.status_code == unknown_agent.status_code == 404
    assert await snapshot(db) == before
