"""Signing in and out, lockout, CSRF, password reset, the agent's language and zone."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts import signin
from sellerdesk.accounts.models import Agent, LoginFailure, PasswordReset, WebSession
from sellerdesk.core.crypto import unseal
from sellerdesk.core.security import hash_token
from sellerdesk.jobs.models import Job
from tests.web.support import PASSWORD, csrf_of, sign_in


async def test_pages_need_a_session_and_return_after_sign_in(
    client: httpx.AsyncClient, agent: Agent
) -> None:
    response = await client.get("/profile?tab=1")

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/profile%3Ftab%3D1"
    form = await client.get(response.headers["location"])
    signed = await client.post("/login", data={
        "email": "OLA@acme.test ", "password": PASSWORD, "next": "/profile?tab=1",
        "csrf_token": csrf_of(form.text)})
    assert signed.status_code == 303
    assert signed.headers["location"] == "/profile?tab=1"
    cookie = signed.headers["set-cookie"]
    assert "sd_session=" in cookie
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert (await client.get("/profile")).status_code == 200


async def test_htmx_requests_without_a_session_are_redirected_by_header(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/profile", headers={"HX-Request": "true"})

    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/login?next=/profile"


async def test_next_never_leaves_the_site(client: httpx.AsyncClient, agent: Agent) -> None:
    form = await client.get("/login")
    for target in ("https://evil.test/", "//evil.test/x", "/\\evil.test"):
        response = await client.post("/login", data={
            "email": agent.email, "password": PASSWORD, "next": target,
            "csrf_token": csrf_of(form.text)})
        assert response.headers["location"] == "/inbox"


async def test_wrong_password_is_refused_and_counted(
    client: httpx.AsyncClient, db: AsyncSession, agent: Agent
) -> None:
    form = await client.get("/login")

    response = await client.post("/login", data={
        "email": agent.email, "password": "wrong password", "csrf_token": csrf_of(form.text)})

    assert response.status_code == 401
    assert "Nieprawidłowy" in response.text or "wrong" in response.text
    assert "sd_session" not in response.headers.get("set-cookie", "")
    failures = await db.scalar(select(func.count()).select_from(LoginFailure))
    assert failures == 1


async def test_five_failures_lock_the_address_even_for_the_right_password(
    client: httpx.AsyncClient, db: AsyncSession, agent: Agent
) -> None:
    form = await client.get("/login")
    csrf = csrf_of(form.text)
    statuses = []
    for _ in range(signin.LOCK_AFTER):
        response = await client.post("/login", data={
            "email": agent.email, "password": "nope nope nope", "csrf_token": csrf})
        statuses.append(response.status_code)

    locked = await client.post("/login", data={
        "email": agent.email, "password": PASSWORD, "csrf_token": csrf})

    assert statuses == [401] * (signin.LOCK_AFTER - 1) + [429]
    assert locked.status_code == 429
    assert "15" in locked.text
    assert await db.scalar(select(func.count()).select_from(WebSession)) == 0


async def test_the_lock_passes_after_the_window(
    client: httpx.AsyncClient, db: AsyncSession, agent: Agent
) -> None:
    for _ in range(signin.LOCK_AFTER):
        db.add(LoginFailure(email=agent.email, ip="10.0.0.1"))
    await db.flush()
    for failure in (await db.execute(select(LoginFailure))).scalars():
        failure.created_at -= signin.LOCK_WINDOW + timedelta(seconds=1)
    await db.flush()

    await sign_in(client, agent.email)

    assert await db.scalar(select(func.count()).select_from(LoginFailure)) == 0


async def test_login_form_without_its_csrf_token_is_refused(
    client: httpx.AsyncClient, db: AsyncSession, agent: Agent
) -> None:
    await client.get("/login")

    response = await client.post("/login", data={
        "email": agent.email, "password": PASSWORD, "csrf_token": "forged"})

    assert response.status_code == 403
    assert await db.scalar(select(func.count()).select_from(WebSession)) == 0


async def test_signed_in_forms_need_the_session_csrf_token(
    client: httpx.AsyncClient, db: AsyncSession, agent: Agent
) -> None:
    await sign_in(client, agent.email)

    response = await client.post("/profile", data={"language": "ko", "timezone": "Asia/Seoul",
                                                   "csrf_token": "forged"})

    assert response.status_code == 403
    assert response.headers["X-Error-Code"] == "auth.bad_csrf"
    await db.refresh(agent)
    assert (agent.language, agent.timezone) == ("pl", "UTC")


async def test_a_tampered_session_cookie_is_no_session(
    client: httpx.AsyncClient, agent: Agent
) -> None:
    await sign_in(client, agent.email)
    value = client.cookies["sd_session"]
    client.cookies.set("sd_session", value[:-2] + ("AA" if not value.endswith("AA") else "BB"))

    assert (await client.get("/profile")).status_code == 303


async def test_sign_out_ends_the_session_on_the_server(
    client: httpx.AsyncClient, db: AsyncSession, agent: Agent
) -> None:
    csrf = await sign_in(client, agent.email)
    stolen = client.cookies["sd_session"]

    response = await client.post("/logout", data={"csrf_token": csrf})

    assert response.status_code == 303
    assert await db.scalar(select(func.count()).select_from(WebSession)) == 0
    client.cookies.set("sd_session", stolen)
    assert (await client.get("/profile")).status_code == 303


async def test_an_inactive_agent_loses_the_session(
    client: httpx.AsyncClient, db: AsyncSession, agent: Agent
) -> None:
    await sign_in(client, agent.email)
    agent.is_active = False
    await db.flush()

    assert (await client.get("/profile")).status_code == 303


async def test_profile_sets_language_and_zone_and_the_ui_follows(
    client: httpx.AsyncClient, db: AsyncSession, agent: Agent
) -> None:
    csrf = await sign_in(client, agent.email)
    assert 'lang="pl"' in (await client.get("/profile")).text

    response = await client.post("/profile", data={
        "language": "ko", "timezone": "Asia/Seoul", "csrf_token": csrf})

    assert response.status_code == 303
    await db.refresh(agent)
    assert (agent.language, agent.timezone) == ("ko", "Asia/Seoul")
    page = await client.get("/profile")
    assert 'lang="ko"' in page.text
    assert "저장" in page.text


async def test_profile_refuses_an_unknown_zone_and_keeps_the_old_one(
    client: httpx.AsyncClient, db: AsyncSession, agent: Agent
) -> None:
    csrf = await sign_in(client, agent.email)

    response = await client.post("/profile", data={
        "language": "en", "timezone": "Mars/Olympus", "csrf_token": csrf})

    assert response.status_code == 422
    assert "Mars/Olympus" in response.text
    await db.refresh(agent)
    assert (agent.language, agent.timezone) == ("pl", "UTC")


async def test_guest_pages_follow_the_browser_language_and_the_choice(
    client: httpx.AsyncClient,
) -> None:
    korean = await client.get("/login", headers={"Accept-Language": "ko-KR,ko;q=0.9"})
    chosen = await client.get("/login?lang=pl")
    remembered = await client.get("/password/forgot")

    assert 'lang="ko"' in korean.text
    assert "로그인" in korean.text
    assert 'lang="pl"' in chosen.text
    assert "Zaloguj się" in chosen.text
    assert 'lang="pl"' in remembered.text


async def test_password_reset_mails_a_link_that_sets_a_new_password_once(
    client: httpx.AsyncClient, db: AsyncSession, agent: Agent
) -> None:
    other_browser_csrf = await sign_in(client, agent.email)
    assert other_browser_csrf
    client.cookies.delete("sd_session")
    form = await client.get("/password/forgot")

    sent = await client.post("/password/forgot", data={
        "email": "ola@acme.test", "csrf_token": csrf_of(form.text)})

    assert sent.status_code == 200
    job = (await db.execute(select(Job).where(Job.name == "accounts.password_reset_mail"))
           ).scalar_one()
    reset = await db.get(PasswordReset, job.payload["reset_id"])
    assert reset is not None
    assert reset.agent_id == agent.id
    # The link's token, as the job would unseal it for the mail.
    token = unseal(job.payload["sealed_token"])
    assert reset.token_hash == hash_token(token)

    page = await client.get(f"/password/reset/{token}")
    assert page.status_code == 200
    changed = await client.post(f"/password/reset/{token}", data={
        "password": "a brand new secret", "confirm": "a brand new secret",
        "csrf_token": csrf_of(page.text)})
    assert changed.status_code == 303
    again = await client.post(f"/password/reset/{token}", data={
        "password": "another new secret", "confirm": "another new secret",
        "csrf_token": csrf_of(page.text)})
    assert again.status_code == 404

    # Every old session is gone; the new password works, the old one does not.
    assert await db.scalar(select(func.count()).select_from(WebSession)) == 0
    await sign_in(client, agent.email, "a brand new secret")
    form = await client.get("/login")
    old = await client.post("/login", data={
        "email": agent.email, "password": PASSWORD, "csrf_token": csrf_of(form.text)})
    assert old.status_code == 401


async def test_password_reset_answers_the_same_for_unknown_addresses(
    client: httpx.AsyncClient, db: AsyncSession, agent: Agent
) -> None:
    form = await client.get("/password/forgot")
    known = await client.post("/password/forgot", data={
        "email": agent.email, "csrf_token": csrf_of(form.text)})
    unknown = await client.post("/password/forgot", data={
        "email": "nobody@acme.test", "csrf_token": csrf_of(form.text)})

    assert known.status_code == unknown.status_code == 200
    assert known.text.replace(agent.email, "X") == unknown.text.replace("nobody@acme.test", "X")
    assert await db.scalar(select(func.count()).select_from(PasswordReset)) == 1


async def test_password_reset_refuses_short_passwords_and_mismatches(
    client: httpx.AsyncClient, db: AsyncSession, agent: Agent
) -> None:
    await signin.request_password_reset(db, email=agent.email)
    job = (await db.execute(select(Job))).scalars().all()[-1]
    token = unseal(job.payload["sealed_token"])
    page = await client.get(f"/password/reset/{token}")
    old_hash = agent.password_hash

    short = await client.post(f"/password/reset/{token}", data={
        "password": "short", "confirm": "short", "csrf_token": csrf_of(page.text)})
    differ = await client.post(f"/password/reset/{token}", data={
        "password": "long enough one", "confirm": "long enough two",
        "csrf_token": csrf_of(page.text)})

    assert short.status_code == differ.status_code == 422
    await db.refresh(agent)
    assert agent.password_hash == old_hash
    assert (await db.get(PasswordReset, job.payload["reset_id"])).used_at is None  # type: ignore[union-attr]


async def test_an_expired_reset_link_is_refused(
    client: httpx.AsyncClient, db: AsyncSession, agent: Agent
) -> None:
    await signin.request_password_reset(db, email=agent.email)
    job = (await db.execute(select(Job))).scalars().all()[-1]
    reset = await db.get(PasswordReset, job.payload["reset_id"])
    assert reset is not None
    reset.expires_at -= signin.RESET_LIFETIME
    await db.flush()

    page = await client.get(f"/password/reset/{unseal(job.payload['sealed_token'])}")

    assert page.status_code == 404


async def test_error_pages_speak_the_signed_in_agents_language(
    client: httpx.AsyncClient, agent: Agent
) -> None:
    await sign_in(client, agent.email)

    response = await client.get("/tickets/999999")

    assert response.status_code == 404
    assert 'lang="pl"' in response.text
    assert "Nie znaleziono" in response.text
