"""OAuth2 for mailboxes that refuse passwords (Google Workspace, Microsoft 365): XOAUTH2.

The authorization-code flow (RFC 6749 §4.1, with PKCE, RFC 7636): an admin opens the consent
URL, the provider sends the browser back to our callback with a code, and the code becomes an
access token (short-lived, used for the IMAP login) and a refresh token (kept to get the next
access token). Both are stored sealed. When the provider refuses the refresh token
(`invalid_grant`: consent revoked, password changed, token expired) the tokens are dropped, the
account says why in `last_error`, and polling leaves it alone until someone signs in again.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

import httpx
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.channels.email.models import EmailAccount
from sellerdesk.core import context
from sellerdesk.core.actor import SYSTEM, Actor
from sellerdesk.core.clock import now
from sellerdesk.core.crypto import SecretError, seal, unseal
from sellerdesk.core.db import commit
from sellerdesk.core.errors import AppError
from sellerdesk.tickets import audit

log = logging.getLogger(__name__)

CALLBACK_PATH = "/api/v1/email/oauth/callback"
# An access token this close to its expiry is refreshed before use: a poll must not start
# with a token that dies half-way through a batch.
REFRESH_MARGIN = timedelta(minutes=5)
STATE_MAX_AGE_SECONDS = 15 * 60
HTTP_TIMEOUT_SECONDS = 20.0


class OAuthErrorCode(StrEnum):
    NOT_CONFIGURED = "email_oauth.not_configured"
    INVALID_STATE = "email_oauth.invalid_state"
    EXPIRED_STATE = "email_oauth.expired_state"
    CONSENT_DENIED = "email_oauth.consent_denied"
    INVALID_CODE = "email_oauth.invalid_code"
    NOT_AUTHORIZED = "email_oauth.not_authorized"
    REVOKED = "email_oauth.revoked"
    PROVIDER_ERROR = "email_oauth.provider_error"
    UNREACHABLE = "email_oauth.unreachable"


class OAuthError(AppError):
    """The OAuth flow or a token refresh failed; the message says what to do about it."""

    _STATUS = {
        OAuthErrorCode.NOT_CONFIGURED: 422, OAuthErrorCode.INVALID_STATE: 400,
        OAuthErrorCode.EXPIRED_STATE: 400, OAuthErrorCode.CONSENT_DENIED: 400,
        OAuthErrorCode.INVALID_CODE: 400,
        OAuthErrorCode.NOT_AUTHORIZED: 409, OAuthErrorCode.REVOKED: 409,
        OAuthErrorCode.PROVIDER_ERROR: 502, OAuthErrorCode.UNREACHABLE: 502,
    }

    def __init__(self, code: OAuthErrorCode, message: str, *, field: str | None = None) -> None:
        super().__init__(code, message, field=field, status_code=self._STATUS[code])


@dataclass(frozen=True, slots=True)
class Provider:
    """A provider's documented endpoints and the scopes IMAP (and SMTP) access needs."""

    name: str
    authorize_url: str
    token_url: str
    scopes: str
    authorize_params: tuple[tuple[str, str], ...] = ()


PROVIDERS: dict[str, Provider] = {
    # developers.google.com/identity/protocols/oauth2/web-server, .../gmail/imap/xoauth2-protocol
    "google": Provider(
        "Google",
        "https://accounts.google.com/o/oauth2/v2/auth",
        "https://oauth2.googleapis.com/token",
        "https://mail.google.com/",
        # offline: a refresh token is issued; consent: issued again on every sign-in, so a
        # re-authorisation after revocation always yields one.
        (("access_type", "offline"), ("prompt", "consent")),
    ),
    # learn.microsoft.com/exchange/client-developer/legacy-protocols/
    #   how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth
    # A single-tenant app replaces `common` with its tenant id in both URLs.
    "microsoft": Provider(
        "Microsoft",
        "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        "offline_access https://outlook.office.com/IMAP.AccessAsUser.All "
        "https://outlook.office.com/SMTP.Send",
    ),
}


@dataclass(frozen=True, slots=True)
class _Client:
    """The account's OAuth settings: its own values, else the provider preset's."""

    provider: str
    authorize_url: str
    token_url: str
    scopes: str
    client_id: str
    client_secret: str | None
    authorize_params: tuple[tuple[str, str], ...]


def provider_name(account: EmailAccount) -> str:
    preset = PROVIDERS.get((account.oauth_provider or "").lower())
    if preset is not None:
        return preset.name
    return account.oauth_provider or "The OAuth2 provider"


def _required(account: EmailAccount, field: str, value: str | None) -> str:
    if not value:
        hint = "" if field == "oauth_client_id" else " (or oauth_provider google or microsoft)"
        raise OAuthError(OAuthErrorCode.NOT_CONFIGURED,
                         f"the email account {account.address} has no {field}{hint}: "
                         "set it before signing in", field=field)
    return value


def _client(account: EmailAccount) -> _Client:
    preset = PROVIDERS.get((account.oauth_provider or "").lower())
    secret = None
    if account.oauth_client_secret_sealed:
        try:
            secret = unseal(account.oauth_client_secret_sealed)
        except SecretError as exc:
            raise OAuthError(OAuthErrorCode.NOT_CONFIGURED,
                             f"the OAuth client secret of {account.address} cannot be "
                             f"decrypted: {exc}", field="oauth_client_secret") from exc
    return _Client(
        provider=account.oauth_provider or "custom",
        authorize_url=_required(account, "oauth_authorize_url", account.oauth_authorize_url
                                or (preset.authorize_url if preset else None)),
        token_url=_required(account, "oauth_token_url",
                            account.oauth_token_url or (preset.token_url if preset else None)),
        scopes=_required(account, "oauth_scopes",
                         account.oauth_scopes or (preset.scopes if preset else None)),
        client_id=_required(account, "oauth_client_id", account.oauth_client_id),
        client_secret=secret,
        authorize_params=preset.authorize_params if preset else (),
    )


def redirect_uri() -> str:
    return context.get().settings.public_url.rstrip("/") + CALLBACK_PATH


def _serializer() -> URLSafeTimedSerializer:
    secret = context.get().settings.resolved_secret_key()
    return URLSafeTimedSerializer(secret, salt="sellerdesk.email.oauth.state")


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_url(account: EmailAccount, *, actor: Actor = SYSTEM) -> str:
    """The provider's consent page for this mailbox; its state names the account and who
    asked, signed."""
    client = _client(account)
    verifier = secrets.token_urlsafe(48)
    # The PKCE verifier travels inside the state, sealed: only this installation can read it,
    # and nothing has to be kept between the start and the callback.
    state = _serializer().dumps({"a": account.id, "s": account.store_id, "v": seal(verifier),
                                 "t": actor.type, "i": actor.id})
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": redirect_uri(),
        "scope": client.scopes,
        "state": state,
        "login_hint": account.imap_username or account.address,
        "code_challenge": _challenge(verifier),
        "code_challenge_method": "S256",
        **dict(client.authorize_params),
    }
    separator = "&" if "?" in client.authorize_url else "?"
    return client.authorize_url + separator + urlencode(params)


@dataclass(frozen=True, slots=True)
class CallbackState:
    store_id: int
    account_id: int
    verifier: str
    actor: Actor  # who started the sign-in


def read_state(state: str) -> CallbackState:
    """The account a callback is for; raise OAuthError if the state is forged or too old."""
    try:
        data = _serializer().loads(state, max_age=STATE_MAX_AGE_SECONDS)
        actor_id = data.get("i")
        return CallbackState(int(data["s"]), int(data["a"]), unseal(str(data["v"])),
                             Actor(str(data["t"]), int(actor_id) if actor_id is not None else None))
    except SignatureExpired as exc:
        raise OAuthError(OAuthErrorCode.EXPIRED_STATE,
                         "the sign-in took longer than 15 minutes: start it again",
                         field="state") from exc
    except (BadSignature, SecretError, KeyError, TypeError, ValueError) as exc:
        raise OAuthError(OAuthErrorCode.INVALID_STATE,
                         "the state parameter was not issued by this SellerDesk", field="state"
                         ) from exc


async def _token_request(account: EmailAccount, client: _Client, form: dict[str, str]
                         ) -> dict[str, Any]:
    """POST to the token endpoint; return the JSON answer, or raise naming what went wrong."""
    form = {**form, "client_id": client.client_id}
    if client.client_secret:
        form["client_secret"] = client.client_secret
    name = provider_name(account)
    try:
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS) as http:
            response = await http.post(client.token_url, data=form,
                                       headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise OAuthError(OAuthErrorCode.UNREACHABLE,
                         f"{name}'s token endpoint {client.token_url} could not be reached: "
                         f"{exc!r}") from exc
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise OAuthError(OAuthErrorCode.PROVIDER_ERROR,
                         f"{name}'s token endpoint answered HTTP {response.status_code} "
                         "without a JSON object")
    if response.status_code >= 400 or "error" in body:
        error = str(body.get("error") or f"HTTP {response.status_code}")
        description = str(body.get("error_description") or "").strip()
        raise _ProviderRefusal(error, description, response.status_code)
    if not isinstance(body.get("access_token"), str) or not body["access_token"]:
        raise OAuthError(OAuthErrorCode.PROVIDER_ERROR,
                         f"{name}'s token endpoint answered without an access_token")
    return body


class _ProviderRefusal(Exception):
    def __init__(self, error: str, description: str, status: int) -> None:
        super().__init__(error)
        self.error = error
        self.description = description
        self.status = status

    def sentence(self) -> str:
        return f"{self.error}: {self.description}" if self.description else self.error


def _expiry(body: dict[str, Any]) -> datetime | None:
    try:
        seconds = int(body.get("expires_in") or 0)
    except (TypeError, ValueError):
        return None
    return now() + timedelta(seconds=seconds) if seconds > 0 else None


def _store_tokens(account: EmailAccount, body: dict[str, Any]) -> None:
    account.oauth_access_token_sealed = seal(body["access_token"])
    account.oauth_expires_at = _expiry(body)
    refresh = body.get("refresh_token")
    # Providers may rotate the refresh token (Microsoft does); without a new one the old
    # one stays valid.
    if isinstance(refresh, str) and refresh:
        account.oauth_refresh_token_sealed = seal(refresh)


async def _fail(db: AsyncSession, account: EmailAccount, error: OAuthError) -> OAuthError:
    account.last_error = error.message
    await commit(db)
    return error


async def complete_authorization(
    db: AsyncSession, *, account: EmailAccount, code: str, verifier: str,
    actor: Actor = SYSTEM,
) -> EmailAccount:
    """Exchange the callback's code for tokens and store them sealed; commit."""
    client = _client(account)
    name = provider_name(account)
    try:
        body = await _token_request(account, client, {
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri(),
            "code_verifier": verifier,
        })
    except _ProviderRefusal as refusal:
        raise await _fail(db, account, OAuthError(
            OAuthErrorCode.INVALID_CODE,
            f"{name} did not accept the sign-in for {account.address} "
            f"({refusal.sentence()}): start the sign-in again")) from refusal
    except OAuthError as exc:
        raise await _fail(db, account, exc) from exc
    if not body.get("refresh_token") and account.oauth_refresh_token_sealed is None:
        raise await _fail(db, account, OAuthError(
            OAuthErrorCode.PROVIDER_ERROR,
            f"{name} gave no refresh token for {account.address}, so SellerDesk could read "
            "the mailbox only for an hour: remove SellerDesk's access in the account's "
            "security settings and sign in again"))
    _store_tokens(account, body)
    account.auth_method = "oauth2"
    account.last_error = None
    audit.record(db, store_id=account.store_id, actor=actor, entity_type="email_account",
                 entity_id=account.id, action="email_account.oauth_connected",
                 after={"provider": client.provider, "oauth_refresh_token": "changed",
                        "oauth_access_token": "changed"})
    await commit(db)
    return account


async def consent_refused(db: AsyncSession, *, account: EmailAccount, error: str,
                          description: str | None) -> OAuthError:
    """The provider came back without a code (the owner declined, or the app is not allowed)."""
    name = provider_name(account)
    said = f": {description.strip()}" if description and description.strip() else ""
    return await _fail(db, account, OAuthError(
        OAuthErrorCode.CONSENT_DENIED,
        f"{name} did not grant access to {account.address} ({error[:100]}{said[:300]}); "
        "the mailbox owner must accept the consent screen"))


def needs_authorization(account: EmailAccount) -> bool:
    """True for an OAuth2 account nobody has (re-)authorised: polling it cannot work."""
    if account.auth_method != "oauth2" or account.oauth_refresh_token_sealed is not None:
        return False
    expires = account.oauth_expires_at
    return account.oauth_access_token_sealed is None or (
        expires is not None and expires <= now())


async def access_token(db: AsyncSession, *, account: EmailAccount, force_refresh: bool = False
                       ) -> str:
    """A usable access token for the IMAP login, refreshed (and committed) when near expiry."""
    sealed = account.oauth_access_token_sealed
    expires = account.oauth_expires_at
    fresh = expires is None or expires - REFRESH_MARGIN > now()
    if sealed is not None and fresh and not force_refresh:
        try:
            return unseal(sealed)
        except SecretError:
            log.warning("access token of email account %s cannot be decrypted; refreshing",
                        account.id)
    return await refresh(db, account=account)


async def refresh(db: AsyncSession, *, account: EmailAccount) -> str:
    """Get a new access token with the refresh token; commit it sealed and return it."""
    name = provider_name(account)
    if account.oauth_refresh_token_sealed is None:
        raise await _fail(db, account, OAuthError(
            OAuthErrorCode.NOT_AUTHORIZED,
            f"{account.address} is not connected to {name}: an admin must sign in to the "
            f"mailbox (GET /api/v1/email-accounts/{account.id}/oauth/start)"))
    try:
        client = _client(account)
        refresh_token = unseal(account.oauth_refresh_token_sealed)
    except SecretError as exc:
        raise await _fail(db, account, OAuthError(
            OAuthErrorCode.NOT_AUTHORIZED,
            f"the stored authorization of {account.address} cannot be decrypted ({exc}): "
            "the mailbox owner must sign in again")) from exc
    except OAuthError as exc:
        raise await _fail(db, account, exc) from exc
    try:
        body = await _token_request(account, client, {
            "grant_type": "refresh_token", "refresh_token": refresh_token})
    except _ProviderRefusal as refusal:
        if refusal.error == "invalid_grant":
            raise await _revoked(db, account, name, refusal) from refusal
        raise await _fail(db, account, OAuthError(
            OAuthErrorCode.PROVIDER_ERROR,
            f"{name} refused to refresh the access token of {account.address} "
            f"({refusal.sentence()}): check the OAuth client id and secret")) from refusal
    except OAuthError as exc:
        raise await _fail(db, account, exc) from exc
    _store_tokens(account, body)
    account.last_error = None
    await commit(db)
    return str(body["access_token"])


async def _revoked(db: AsyncSession, account: EmailAccount, name: str,
                   refusal: _ProviderRefusal) -> OAuthError:
    """Consent is gone: drop the dead tokens so polling waits for a new sign-in."""
    account.oauth_refresh_token_sealed = None
    account.oauth_access_token_sealed = None
    account.oauth_expires_at = None
    said = f"; {name} said: {refusal.description}" if refusal.description else ""
    error = OAuthError(
        OAuthErrorCode.REVOKED,
        f"{name} refused the stored authorization (invalid_grant): the mailbox owner must "
        f"sign in again ({account.address}{said})")
    audit.record(db, store_id=account.store_id, actor=SYSTEM, entity_type="email_account",
                 entity_id=account.id, action="email_account.oauth_revoked",
                 before={"oauth_refresh_token": "set"}, after={"oauth_refresh_token": None})
    return await _fail(db, account, error)
