"""Agents: invitations by email, roles (the last owner stays), deactivation signs out."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.models import Agent, ApiToken, PasswordReset, Store, WebSession
from sellerdesk.accounts.permissions import Role
from sellerdesk.channels.email import actions as email_actions
from sellerdesk.core import context
from sellerdesk.core.clock import now
from sellerdesk.core.crypto import unseal
from sellerdesk.core.security import hash_token
from sellerdesk.jobs import registry
from sellerdesk.jobs.models import Job
from sellerdesk.tickets.models import AuditEvent
from tests.api.support import snapshot
from tests.channels.email.servers import SmtpSink, smtp_sink  # noqa: F401 (a fixture)
from tests.conftest import bearer
from tests.web.admin_support import make_agent, sign_in_as
from tests.web.support import PASSWORD, csrf_of, sign_in


async def audit_actions(db: AsyncSession, agent_id: int) -> list[str]:
    rows = await db.execute(select(AuditEvent.action).where(
        AuditEvent.entity_type == "agent", AuditEvent.entity_id == agent_id)
        .order_by(AuditEvent.id))
    return list(rows.scalars())


async def agent_by_email(db: AsyncSession, email: str) -> Agent:
    return (await db.execute(select(Agent).where(Agent.email == email))).scalar_one()


async def test_the_list_shows_each_agent(
    client: httpx.AsyncClient, db: AsyncSession, store: Store, other_store: Store
) -> None:
    await make_agent(db, store, Role.VIEWER, language="ko", email="minji@acme.test")
    await make_agent(db, other_store, Role.AGENT, email="stranger@other.test")
    await sign_in_as(client, db, store, Role.ADMIN)

    page = await client.get("/admin/agents")

    assert page.status_code == 200
    assert page.text.count('data-testid="agent-row"') == 2
    assert "minji@acme.test" in page.text
    assert "Viewer (notes only)" in page.text
    assert "한국어" in page.text
    assert "stranger@other.test" not in page.text
    assert 'id="no-mail"' in page.text  # invitations could not be delivered yet


async def test_an_invitation_creates_the_agent_and_mails_a_link_that_sets_the_password(
    client: httpx.AsyncClient, db: AsyncSession, store: Store, smtp_sink: SmtpSink,  # noqa: F811
) -> None:
    # given a store that sends mail through the sink, and a signed-in admin
    await email_actions.create_account(db, store_id=store.id, address="support@acme.test",
                                       smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                       smtp_security="none", display_name="Acme")
    admin = await sign_in_as(client, db, store, Role.ADMIN)

    # when the admin invites a Polish-speaking agent
    response = await client.post("/admin/agents", data={
        "email": " Ewa@Acme.test ", "name": "Ewa Kowalska", "role": "manager",
        "language": "pl"})

    # then the agent exists without a password, with a 7-day link waiting in the outbox
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/agents?done=invited"
    ewa = await agent_by_email(db, "ewa@acme.test")
    assert (ewa.name, ewa.role, ewa.language, ewa.password_hash, ewa.is_active) == (
        "Ewa Kowalska", "manager", "pl", None, True)
    job = (await db.execute(select(Job).where(Job.name == "accounts.invitation_mail"))
           ).scalar_one()
    reset = await db.get(PasswordReset, job.payload["reset_id"])
    assert reset is not None
    assert reset.agent_id == ewa.id
    assert timedelta(days=7) - timedelta(minutes=1) < reset.expires_at - now() <= timedelta(
        days=7)
    assert set(job.payload) == {"reset_id", "sealed_token"}
    token = unseal(job.payload["sealed_token"])
    assert token not in job.payload["sealed_token"]
    assert reset.token_hash == hash_token(token)
    assert await audit_actions(db, ewa.id) == ["agent.invited"]
    event = (await db.execute(select(AuditEvent).where(AuditEvent.action == "agent.invited"))
             ).scalar_one()
    assert (event.actor_type, event.actor_id) == ("agent", admin.id)
    listed = await client.get("/admin/agents?done=invited")
    assert 'id="no-mail"' not in listed.text
    assert "Invited" in listed.text
    assert "The invitation is on its way." in listed.text

    # when the job runs, the invitation goes out in Polish with the link
    await registry.call(db, job.name, job.payload)
    mail = smtp_sink.only().message()
    assert mail["To"] == "Ewa Kowalska <ewa@acme.test>"
    assert mail["Subject"] == "Zaproszenie do Acme Shop w SellerDesk"
    link = f"{context.get().settings.public_url}/password/reset/{token}"
    assert mail.get_content() == (
        "Dzień dobry, Ewa Kowalska,\n\n"
        "Zapraszamy Cię do obsługi klientów sklepu Acme Shop w SellerDesk. Aby ustawić hasło, "
        f"otwórz ten link w ciągu 7 dni:\n\n{link}\n\n"
        "Następnie zaloguj się tym adresem: ewa@acme.test\n")

    # and the link sets a password with which Ewa signs in
    client.cookies.clear()
    del client.headers["X-CSRF-Token"]
    form = await client.get(f"/password/reset/{token}")
    assert form.status_code == 200
    chosen = await client.post(f"/password/reset/{token}", data={
        "password": "ewa's own secret", "confirm": "ewa's own secret",
        "csrf_token": csrf_of(form.text)})
    assert chosen.status_code == 303
    await sign_in(client, "ewa@acme.test", "ewa's own secret")
    assert (await client.get("/profile")).status_code == 200


async def test_an_invitation_to_an_existing_address_or_a_bad_one_changes_nothing(
    client: httpx.AsyncClient, db: AsyncSession, store: Store
) -> None:
    admin = await sign_in_as(client, db, store, Role.ADMIN)
    before = await snapshot(db)

    taken = await client.post("/admin/agents", data={
        "email": admin.email.upper(), "name": "Again", "role": "agent", "language": "en"})
    bad = await client.post("/admin/agents", data={
        "email": "not-an-address", "name": "X", "role": "agent", "language": "en"})
    nameless = await client.post("/admin/agents", data={
        "email": "x@acme.test", "name": " ", "role": "agent", "language": "en"})
    no_role = await client.post("/admin/agents", data={
        "email": "x@acme.test", "name": "X", "role": "boss", "language": "en"})

    assert taken.status_code == 409
    assert "There is already an agent with this address." in taken.text
    assert bad.status_code == 422
    assert "not-an-address is not an email address" in bad.text
    assert 'value="not-an-address"' in bad.text  # the form keeps what was typed
    assert nameless.status_code == 422
    assert "Enter a name" in nameless.text
    assert no_role.status_code == 422
    assert "Choose a role from the list." in no_role.text
    assert await snapshot(db) == before


async def test_an_invitation_can_be_sent_again_until_a_password_is_chosen(
    client: httpx.AsyncClient, db: AsyncSession, store: Store
) -> None:
    admin = await sign_in_as(client, db, store, Role.ADMIN)
    await client.post("/admin/agents", data={
        "email": "new@acme.test", "name": "New", "role": "agent", "language": "ko"})
    new = await agent_by_email(db, "new@acme.test")

    again = await client.post(f"/admin/agents/{new.id}/invitation")
    refused = await client.post(f"/admin/agents/{admin.id}/invitation")

    assert again.status_code == 303
    jobs = await db.scalar(select(func.count()).select_from(Job).where(
        Job.name == "accounts.invitation_mail"))
    assert jobs == 2
    assert refused.status_code == 409
    assert "already chosen a password" in refused.text
    assert await audit_actions(db, new.id) == ["agent.invited", "agent.invitation_resent"]


async def test_only_an_owner_gives_the_owner_role(
    client: httpx.AsyncClient, db: AsyncSession, store: Store
) -> None:
    await make_agent(db, store, Role.OWNER)
    worker = await make_agent(db, store, Role.AGENT, email="worker@acme.test")
    await sign_in_as(client, db, store, Role.ADMIN)
    page = await client.get("/admin/agents")
    assert '<option value="owner"' not in page.text.split(f'id="role-{worker.id}"')[1].split(
        "</select>")[0]
    before = await snapshot(db)

    promote = await client.post(f"/admin/agents/{worker.id}/role", data={"role": "owner"})
    invite = await client.post("/admin/agents", data={
        "email": "boss@acme.test", "name": "Boss", "role": "owner", "language": "en"})

    assert promote.status_code == invite.status_code == 403
    assert "Only an owner can give the owner role or change an owner." in promote.text
    assert await snapshot(db) == before


async def test_an_admin_cannot_demote_or_deactivate_an_owner(
    client: httpx.AsyncClient, db: AsyncSession, store: Store
) -> None:
    owner = await make_agent(db, store, Role.OWNER)
    await make_agent(db, store, Role.OWNER, email="second-owner@acme.test")
    await sign_in_as(client, db, store, Role.ADMIN)
    before = await snapshot(db)

    demote = await client.post(f"/admin/agents/{owner.id}/role", data={"role": "agent"})
    deactivate = await client.post(f"/admin/agents/{owner.id}/active", data={"active": "0"})

    assert demote.status_code == deactivate.status_code == 403
    assert await snapshot(db) == before


async def test_the_last_owner_stays_an_owner(
    client: httpx.AsyncClient, db: AsyncSession, store: Store
) -> None:
    # given one owner, signed in
    owner = await sign_in_as(client, db, store, Role.OWNER)
    before = await snapshot(db)

    # when they try to demote themselves, they are refused
    refused = await client.post(f"/admin/agents/{owner.id}/role", data={"role": "admin"})
    assert refused.status_code == 409
    assert "The store needs an active owner" in refused.text
    assert await snapshot(db) == before

    # once a second owner exists, the first may step down
    second = await make_agent(db, store, Role.ADMIN, email="heir@acme.test")
    promoted = await client.post(f"/admin/agents/{second.id}/role", data={"role": "owner"})
    stepped_down = await client.post(f"/admin/agents/{owner.id}/role", data={"role": "admin"})

    assert promoted.status_code == stepped_down.status_code == 303
    await db.refresh(owner)
    await db.refresh(second)
    assert (owner.role, second.role) == ("admin", "owner")
    assert await audit_actions(db, second.id) == ["agent.created", "agent.role_changed"]
    event = (await db.execute(select(AuditEvent).where(
        AuditEvent.action == "agent.role_changed", AuditEvent.entity_id == owner.id))
    ).scalar_one()
    assert (event.before, event.after) == ({"role": "owner"}, {"role": "admin"})
    # and now an admin, they no longer open... the agents page is still theirs (admins may)
    assert (await client.get("/admin/agents")).status_code == 200


async def test_deactivation_signs_the_agent_out_and_revokes_their_tokens(
    client: httpx.AsyncClient, db: AsyncSession, store: Store
) -> None:
    # given an agent signed in on their own browser, with an API token of their own
    worker = await make_agent(db, store, Role.AGENT, email="worker@acme.test")
    _, plain = await accounts.create_api_token(db, store_id=store.id, role=Role.AGENT,
                                               name="worker's", agent_id=worker.id)
    await sign_in(client, worker.email)
    worker_cookie = client.cookies["sd_session"]
    assert await db.scalar(select(func.count()).select_from(WebSession).where(
        WebSession.agent_id == worker.id)) == 1
    admin = await sign_in_as(client, db, store, Role.ADMIN)
    admin_cookie = client.cookies["sd_session"]

    # when the admin deactivates them
    response = await client.post(f"/admin/agents/{worker.id}/active", data={"active": "0"})

    # then every session of theirs is gone, the token is revoked, and it is audited
    assert response.status_code == 303
    await db.refresh(worker)
    assert worker.is_active is False
    assert await db.scalar(select(func.count()).select_from(WebSession).where(
        WebSession.agent_id == worker.id)) == 0
    token = (await db.execute(select(ApiToken).where(ApiToken.agent_id == worker.id))
             ).scalar_one()
    assert token.revoked_at is not None
    event = (await db.execute(select(AuditEvent).where(
        AuditEvent.action == "agent.deactivated"))).scalar_one()
    assert (event.actor_id, event.entity_id) == (admin.id, worker.id)
    assert event.after == {"is_active": False, "sessions_ended": 1, "tokens_revoked": 1}
    client.cookies.set("sd_session", worker_cookie)
    assert (await client.get("/profile")).status_code == 303
    assert (await client.get("/api/v1/tickets", headers=bearer(plain))).status_code == 401
    admin_csrf = client.headers.pop("X-CSRF-Token")
    form = await client.get("/login")
    login = await client.post("/login", data={"email": worker.email, "password": PASSWORD,
                                              "csrf_token": csrf_of(form.text)})
    assert login.status_code == 401
    client.cookies.set("sd_session", admin_cookie)
    client.headers["X-CSRF-Token"] = admin_csrf
    listed = await client.get("/admin/agents")
    assert "Deactivated" in listed.text

    # when reactivated, they may sign in again
    back = await client.post(f"/admin/agents/{worker.id}/active", data={"active": "1"})
    assert back.status_code == 303
    client.cookies.clear()
    del client.headers["X-CSRF-Token"]
    await sign_in(client, worker.email)
    # (signing in to the workspace also sets the agent online for routing)
    assert await audit_actions(db, worker.id) == [
        "agent.created", "agent.signed_in", "agent.availability_changed", "agent.deactivated",
        "agent.availability_changed", "agent.reactivated", "agent.signed_in",
        "agent.availability_changed"]


async def test_nobody_deactivates_themselves(
    client: httpx.AsyncClient, db: AsyncSession, store: Store
) -> None:
    admin = await sign_in_as(client, db, store, Role.ADMIN)
    before = await snapshot(db)

    response = await client.post(f"/admin/agents/{admin.id}/active", data={"active": "0"})
    odd = await client.post(f"/admin/agents/{admin.id}/active", data={"active": "maybe"})

    assert response.status_code == 409
    assert "You cannot deactivate yourself." in response.text
    assert odd.status_code == 422
    assert await snapshot(db) == before


@pytest.mark.parametrize("path", ["role", "active", "invitation"])
async def test_unknown_agents_are_404(
    client: httpx.AsyncClient, db: AsyncSession, store: Store, path: str
) -> None:
    await sign_in_as(client, db, store, Role.OWNER)

    response = await client.post(f"/admin/agents/987654/{path}",
                                 data={"role": "agent", "active": "0"})

    assert response.status_code == 404
