"""OAuth2 (XOAUTH2) mailboxes: consent, callback, token refresh, revocation — against a local
OAuth2 server and Dovecot asking that server's introspection endpoint about every token."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Store
from sellerdesk.accounts.permissions import Role
from sellerdesk.api.app import create_app
from sellerdesk.api.deps import get_db
from sellerdesk.channels.email import actions, imap, oauth
from sellerdesk.channels.email.models import EmailAccount
from sellerdesk.channels.email.routes import get_write_db
from sellerdesk.channels.email.tasks import poll_mailboxes
from sellerdesk.core.clock import now
from sellerdesk.core.crypto import unseal
from sellerdesk.tickets.models import AuditEvent, Message
from tests.channels.email.dovecot import (
    Dovecot,
    OAuthServer,
    dovecot_fixture,  # noqa: F401 (a fixture)
    mail,
    new_user,
    oauth_server_fixture,  # noqa: F401 (a fixture)
)
from tests.conftest import TokenFactory, bearer

AccountFactory = Callable[..., Awaitable[EmailAccount]]
CALLBACK = "http://127.0.0.1:8000/api/v1/email/oauth/callback"


@pytest.fixture
async def http(db: AsyncSession) -> AsyncIterator[httpx.AsyncClient]:
    """The API on the test's session, the OAuth callback's writing session included."""
    app = create_app()

    async def test_db() -> AsyncIterator[AsyncSession]:
        yield db

    app.dependency_overrides[get_db] = test_db
    app.dependency_overrides[get_write_db] = test_db
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as client:
        yield client


@pytest.fixture
def make_account(db: AsyncSession, store: Store, dovecot: Dovecot, oauth_server: OAuthServer
                 ) -> AccountFactory:
    async def make(**settings: Any) -> EmailAccount:
        user = settings.pop("user", None) or new_user()
        values: dict[str, Any] = {
            "imap_host": dovecot.host, "imap_port": dovecot.port, "imap_security": "none",
            "imap_username": user, "auth_method": "oauth2", "oauth_provider": "google",
            "oauth_client_id": oauth_server.client_id,
            "oauth_client_secret": oauth_server.client_secret,
            "oauth_authorize_url": oauth_server.authorize_url,
            "oauth_token_url": oauth_server.token_url, **settings,
        }
        return await actions.create_account(db, store_id=store.id, address=user, **values)

    return make


async def with_tokens(db: AsyncSession, account: EmailAccount, oauth_server: OAuthServer, *,
                      for_user: str | None = None, server_lifetime: int | None = None,
                      our_lifetime: timedelta = timedelta(hours=1)) -> tuple[str, str]:
    """Give the account tokens as if its owner had signed in (optionally for someone else)."""
    access, refresh = oauth_server.issue(for_user or account.address, expires_in=server_lifetime)
    await actions.update_account(db, account=account, changes={
        "oauth_access_token": access, "oauth_refresh_token": refresh})
    account.oauth_expires_at = now() + our_lifetime
    await db.commit()
    return access, refresh


async def stored(db: AsyncSession, account: EmailAccount) -> list[str]:
    rows = await db.execute(select(Message.external_id).where(
        Message.channel_id == account.channel_id).order_by(Message.external_id))
    return [str(r) for r in rows.scalars()]


async def test_sign_in_then_poll_reads_the_mailbox_with_xoauth2(
    db: AsyncSession, http: httpx.AsyncClient, store: Store, make_token: TokenFactory,
    make_account: AccountFactory, dovecot: Dovecot, oauth_server: OAuthServer,
) -> None:
    # given a Google-style account nobody has signed in to yet, and mail waiting in it
    account = await make_account()
    oauth_server.consenting_user = account.address
    dovecot.append(account.address, mail(1), mail(2))
    assert oauth.needs_authorization(account)
    token = await make_token(store, Role.ADMIN)

    # when an admin starts the sign-in, the owner consents and the provider calls us back
    start = await http.get(f"/api/v1/email-accounts/{account.id}/oauth/start",
                           headers=bearer(token))
    assert start.status_code == 200, start.text
    url = start.json()["authorize_url"]
    async with httpx.AsyncClient() as browser:
        consent = await browser.get(url)
    assert consent.status_code == 302
    back = urlsplit(consent.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == CALLBACK
    callback = await http.get(f"{back.path}?{back.query}")

    # then the account holds sealed tokens, and a poll logs in with XOAUTH2 and reads mail
    assert callback.status_code == 200, callback.text
    assert callback.json() == {"account_id": account.id, "address": account.address,
                               "status": "connected"}
    assert account.oauth_refresh_token_sealed is not None
    assert account.oauth_access_token_sealed is not None
    assert unseal(account.oauth_access_token_sealed) in oauth_server.access_tokens
    assert account.oauth_expires_at is not None
    assert timedelta(minutes=59) < account.oauth_expires_at - now() <= timedelta(hours=1)
    assert not oauth.needs_authorization(account)
    event = (await db.execute(select(AuditEvent).where(
        AuditEvent.action == "email_account.oauth_connected"))).scalar_one()
    assert (event.entity_id, event.actor_type) == (account.id, "token")
    introspections = oauth_server.introspections

    result = await imap.poll_account(db, account)

    assert result.fetched == 2
    assert await stored(db, account) == ["m1@shop.example", "m2@shop.example"]
    assert oauth_server.introspections == introspections + 1  # Dovecot asked about our token
    assert account.last_error is None


def test_the_consent_url_asks_google_for_mail_access_offline_with_pkce(
    oauth_server: OAuthServer,
) -> None:
    account = EmailAccount(id=7, store_id=3, address="support@acme.example",
                           oauth_provider="google", oauth_client_id="cid")

    url = urlsplit(oauth.authorize_url(account))
    query = {k: v[0] for k, v in parse_qs(url.query).items()}

    assert f"{url.scheme}://{url.netloc}{url.path}" == (
        "https://accounts.google.com/o/oauth2/v2/auth")
    assert query["scope"] == "https://mail.google.com/"
    assert (query["access_type"], query["prompt"]) == ("offline", "consent")
    assert (query["response_type"], query["client_id"]) == ("code", "cid")
    assert query["redirect_uri"] == CALLBACK
    assert query["login_hint"] == "support@acme.example"
    assert query["code_challenge_method"] == "S256"
    state = oauth.read_state(query["state"])
    assert (state.store_id, state.account_id) == (3, 7)
    assert oauth._challenge(state.verifier) == query["code_challenge"]


def test_the_microsoft_preset_asks_for_imap_and_a_refresh_token() -> None:
    account = EmailAccount(id=1, store_id=1, address="support@acme.example",
                           oauth_provider="microsoft", oauth_client_id="cid")

    url = urlsplit(oauth.authorize_url(account))
    query = {k: v[0] for k, v in parse_qs(url.query).items()}

    assert url.netloc == "login.microsoftonline.com"
    assert url.path == "/common/oauth2/v2.0/authorize"
    assert query["scope"].split() == ["offline_access",
                                      "https://outlook.office.com/IMAP.AccessAsUser.All",
                                      "https://outlook.office.com/SMTP.Send"]


async def test_an_access_token_near_expiry_is_refreshed_before_the_login(
    db: AsyncSession, make_account: AccountFactory, dovecot: Dovecot,
    oauth_server: OAuthServer,
) -> None:
    account = await make_account()
    old_access, refresh = await with_tokens(db, account, oauth_server,
                                            our_lifetime=timedelta(minutes=3))
    dovecot.append(account.address, mail(1))
    refreshes = len(oauth_server.grants("refresh_token"))

    result = await imap.poll_account(db, account)

    assert result.fetched == 1
    assert len(oauth_server.grants("refresh_token")) == refreshes + 1
    assert oauth_server.grants("refresh_token")[-1]["refresh_token"] == refresh
    assert account.oauth_access_token_sealed is not None
    assert unseal(account.oauth_access_token_sealed) != old_access
    assert account.oauth_expires_at is not None
    assert account.oauth_expires_at - now() > timedelta(minutes=59)


async def test_a_token_the_server_no_longer_accepts_is_refreshed_once_and_the_login_retried(
    db: AsyncSession, make_account: AccountFactory, dovecot: Dovecot,
    oauth_server: OAuthServer,
) -> None:
    # given an access token we believe good for an hour, which the provider already expired
    account = await make_account()
    await with_tokens(db, account, oauth_server, server_lifetime=-1)
    dovecot.append(account.address, mail(1))

    result = await imap.poll_account(db, account)

    assert result.fetched == 1
    assert account.last_error is None


async def test_revoked_consent_is_a_clear_error_and_polling_waits_for_a_new_sign_in(
    db: AsyncSession, make_account: AccountFactory, dovecot: Dovecot,
    oauth_server: OAuthServer,
) -> None:
    account = await make_account()
    await with_tokens(db, account, oauth_server, our_lifetime=timedelta(minutes=1))
    dovecot.append(account.address, mail(1))
    oauth_server.revoke_all(account.address)

    with pytest.raises(imap.MailboxError) as err:
        await imap.poll_account(db, account)

    expected = ("Google refused the stored authorization (invalid_grant): the mailbox owner "
                f"must sign in again ({account.address}; Google said: Token has been expired "
                "or revoked.)")
    assert (err.value.code, err.value.message) == (imap.ImapErrorCode.NEEDS_AUTHORIZATION,
                                                   expected)
    assert account.last_error == expected
    assert account.oauth_refresh_token_sealed is None
    assert account.oauth_access_token_sealed is None
    assert oauth.needs_authorization(account)
    event = (await db.execute(select(AuditEvent).where(
        AuditEvent.action == "email_account.oauth_revoked"))).scalar_one()
    assert event.entity_id == account.id

    # the sweep leaves it alone (no more token requests) and nothing crashes
    requests = len(oauth_server.token_requests)
    assert await poll_mailboxes(db) == 0
    skipped = await imap.poll_account(db, account)
    assert skipped.skipped == "needs authorization"
    assert len(oauth_server.token_requests) == requests
    assert account.last_error == expected
    assert await stored(db, account) == []


async def test_a_token_dovecot_refuses_is_a_clear_login_error(
    db: AsyncSession, make_account: AccountFactory, dovecot: Dovecot,
    oauth_server: OAuthServer,
) -> None:
    # given tokens the provider issued for a different mailbox than this account's
    account = await make_account()
    await with_tokens(db, account, oauth_server, for_user=new_user("someone-else"))
    dovecot.append(account.address, mail(1))

    with pytest.raises(imap.MailboxError) as err:
        await imap.poll_account(db, account)

    assert err.value.code == imap.ImapErrorCode.LOGIN_FAILED
    assert account.last_error == (
        f"IMAP login failed for {account.address}: [AUTHENTICATIONFAILED] Authentication "
        "failed. (XOAUTH2: the server refused a freshly issued access token; the mailbox "
        f"owner must sign in to Google as {account.address}, with IMAP access granted)")
    assert await stored(db, account) == []
    assert dovecot.flags(account.address)["<m1@shop.example>"] == {b"\\Recent"}


async def test_a_forged_state_is_refused(
    http: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    account = await make_account()
    state = urlsplit(oauth.authorize_url(account)).query.split("state=", 1)[1].split("&")[0]
    forged = state[:-4] + ("AAAA" if not state.endswith("AAAA") else "BBBB")

    response = await http.get("/api/v1/email/oauth/callback",
                              params={"code": "x", "state": forged})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "email_oauth.invalid_state"
    assert response.json()["error"]["field"] == "state"
    assert account.oauth_refresh_token_sealed is None


async def test_an_old_state_is_refused(
    http: httpx.AsyncClient, make_account: AccountFactory, monkeypatch: pytest.MonkeyPatch,
) -> None:
    account = await make_account()
    state = parse_qs(urlsplit(oauth.authorize_url(account)).query)["state"][0]
    monkeypatch.setattr(oauth, "STATE_MAX_AGE_SECONDS", -1)

    response = await http.get("/api/v1/email/oauth/callback",
                              params={"code": "x", "state": state})

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "email_oauth.expired_state", "field": "state",
        "message": "the sign-in took longer than 15 minutes: start it again"}


async def test_declined_consent_is_recorded_on_the_account(
    http: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    account = await make_account()
    state = parse_qs(urlsplit(oauth.authorize_url(account)).query)["state"][0]

    response = await http.get("/api/v1/email/oauth/callback", params={
        "state": state, "error": "access_denied", "error_description": "The user said no"})

    assert response.status_code == 400
    expected = (f"Google did not grant access to {account.address} (access_denied: The user "
                "said no); the mailbox owner must accept the consent screen")
    assert response.json()["error"]["code"] == "email_oauth.consent_denied"
    assert response.json()["error"]["message"] == expected
    assert account.last_error == expected


async def test_a_used_code_is_refused_with_a_clear_error(
    http: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    account = await make_account()
    state = parse_qs(urlsplit(oauth.authorize_url(account)).query)["state"][0]

    response = await http.get("/api/v1/email/oauth/callback",
                              params={"state": state, "code": "code-never-issued"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "email_oauth.invalid_code"
    assert response.json()["error"]["message"] == (
        f"Google did not accept the sign-in for {account.address} (invalid_grant: unknown or "
        "used code): start the sign-in again")
    assert account.oauth_refresh_token_sealed is None


async def test_starting_a_sign_in_needs_settings_permission_and_the_store_s_own_account(
    http: httpx.AsyncClient, db: AsyncSession, store: Store, other_store: Store,
    make_token: TokenFactory, make_account: AccountFactory,
) -> None:
    account = await make_account()
    agent = await make_token(store, Role.AGENT)
    stranger = await make_token(other_store, Role.ADMIN)

    as_agent = await http.get(f"/api/v1/email-accounts/{account.id}/oauth/start",
                              headers=bearer(agent))
    as_stranger = await http.get(f"/api/v1/email-accounts/{account.id}/oauth/start",
                                 headers=bearer(stranger))

    assert as_agent.status_code == 403
    assert as_stranger.status_code == 404
    assert as_stranger.json()["error"]["code"] == "email_account.not_found"


async def test_an_account_without_a_client_id_cannot_start_a_sign_in(
    http: httpx.AsyncClient, store: Store, make_token: TokenFactory,
    make_account: AccountFactory,
) -> None:
    account = await make_account(oauth_client_id=None)
    token = await make_token(store, Role.ADMIN)

    response = await http.get(f"/api/v1/email-accounts/{account.id}/oauth/start",
                              headers=bearer(token))

    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "email_oauth.not_configured", "field": "oauth_client_id",
        "message": f"the email account {account.address} has no oauth_client_id: set it "
                   "before signing in"}
