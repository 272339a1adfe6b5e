"""Email accounts on the admin page: add, edit (secrets never shown), and "Test connection"
against a real Dovecot, a real SMTP server, a closed port, a silent one and a TLS mismatch."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Store
from sellerdesk.accounts.permissions import Role
from sellerdesk.channels.email import actions, probe
from sellerdesk.channels.email.models import EmailAccount
from sellerdesk.channels.email.probe import ProbeOutcome
from sellerdesk.core.crypto import unseal
from sellerdesk.tickets.models import AuditEvent
from tests.api.support import snapshot
from tests.channels.email.dovecot import (
    Dovecot,
    dovecot_fixture,  # noqa: F401 (a fixture)
    new_user,
    oauth_server_fixture,  # noqa: F401 (a fixture)
)
from tests.channels.email.servers import SmtpSink, free_port, smtp_sink  # noqa: F401
from tests.web.admin_support import sign_in_as

SMTP_USER, SMTP_PASSWORD = "mailer", "smtp-secret"  # noqa: S105 (test credentials)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


async def account_of(db: AsyncSession, store: Store, **settings: Any) -> EmailAccount:
    values: dict[str, Any] = {"imap_security": "none", "smtp_security": "none", **settings}
    address = values.pop("address", None) or new_user()
    return await actions.create_account(db, store_id=store.id, address=address, **values)


def outcome(html: str, protocol: str) -> str:
    part = html.split(f'data-protocol="{protocol}" data-outcome="')[1]
    return part.split('"', 1)[0]


def line(html: str, protocol: str) -> str:
    return html.split(f'data-protocol="{protocol}"')[1].split("</p>")[0]


# --------------------------------------------------------------------------------------------
# The list and the form


async def test_the_list_shows_servers_and_the_last_error(
    client: httpx.AsyncClient, db: AsyncSession, store: Store, other_store: Store
) -> None:
    account = await account_of(db, store, address="support@acme.test",
                               imap_host="imap.acme.test", imap_port=993, imap_security="ssl",
                               smtp_host="smtp.acme.test", smtp_security="starttls")
    account.last_error = "IMAP login failed for support@acme.test: [AUTHENTICATIONFAILED]"
    await db.flush()
    await account_of(db, other_store, address="support@other.test")
    await sign_in_as(client, db, store, Role.ADMIN)

    page = await client.get("/admin/email")

    row = page.text.split(f'id="email-{account.id}"')[1].split("</tr>")[0]
    assert "support@acme.test" in row
    assert "imap.acme.test:993" in row
    assert "SSL/TLS" in row
    assert "smtp.acme.test" in row
    assert "STARTTLS" in row
    assert "[AUTHENTICATIONFAILED]" in row
    assert "never" in row
    assert "support@other.test" not in page.text


async def test_a_mailbox_is_added_with_its_secrets_sealed(
    client: httpx.AsyncClient, db: AsyncSession, store: Store
) -> None:
    admin = await sign_in_as(client, db, store, Role.ADMIN)

    response = await client.post("/admin/email", data={
        "address": "Support@Acme.test", "display_name": "Acme", "is_active": "1",
        "imap_host": "imap.acme.test", "imap_port": "993", "imap_security": "ssl",
        "imap_username": "support", "password": "imap pass", "imap_folder": "",
        "processed_folder": "", "smtp_host": "smtp.acme.test", "smtp_port": "587",
        "smtp_security": "starttls", "smtp_username": "", "smtp_password": ""})

    assert response.status_code == 303
    account = (await db.execute(select(EmailAccount))).scalar_one()
    assert (account.address, account.display_name, account.imap_port, account.imap_folder,
            account.processed_folder, account.smtp_username, account.is_active) == (
        "support@acme.test", "Acme", 993, "INBOX", None, None, True)
    assert account.password_sealed is not None
    assert "imap pass" not in account.password_sealed
    assert unseal(account.password_sealed) == "imap pass"
    assert account.smtp_password_sealed is None
    event = (await db.execute(select(AuditEvent).where(
        AuditEvent.action == "email_account.created"))).scalar_one()
    assert event.actor_id == admin.id
    assert event.after is not None
    assert event.after["password"] == "changed"


async def test_the_edit_form_never_shows_a_stored_password_and_keeps_it_when_left_empty(
    client: httpx.AsyncClient, db: AsyncSession, store: Store
) -> None:
    account = await account_of(db, store, imap_host="imap.acme.test", password="imap pass",
                               smtp_host="smtp.acme.test", smtp_password="smtp pass")
    sealed = account.password_sealed
    await sign_in_as(client, db, store, Role.ADMIN)

    form = await client.get(f"/admin/email/{account.id}")

    assert form.status_code == 200
    for secret in ("imap pass", "smtp pass", sealed, account.smtp_password_sealed):
        assert secret is not None
        assert secret not in form.text
    assert form.text.count("Saved; leave empty to keep it") == 2
    assert 'value="imap.acme.test"' in form.text

    kept = await client.post(f"/admin/email/{account.id}", data={
        "display_name": "Sklep", "imap_host": "imap2.acme.test", "imap_security": "none",
        "smtp_host": "smtp.acme.test", "smtp_security": "none", "password": "",
        "smtp_password": "new smtp pass"})

    assert kept.status_code == 303
    await db.refresh(account)
    assert (account.display_name, account.imap_host, account.is_active) == (
        "Sklep", "imap2.acme.test", False)
    assert account.password_sealed == sealed
    assert account.smtp_password_sealed is not None
    assert unseal(account.smtp_password_sealed) == "new smtp pass"


async def test_bad_settings_are_named_and_change_nothing(
    client: httpx.AsyncClient, db: AsyncSession, store: Store
) -> None:
    account = await account_of(db, store, address="support@acme.test", imap_host="imap.test")
    await sign_in_as(client, db, store, Role.ADMIN)
    before = await snapshot(db)
    valid = {"imap_security": "none", "smtp_security": "none", "imap_host": "imap.test"}

    port = await client.post(f"/admin/email/{account.id}", data={**valid, "imap_port": "99x",
                                                                 "password": "new secret"})
    big_port = await client.post(f"/admin/email/{account.id}", data={**valid,
                                                                     "smtp_port": "70000"})
    security = await client.post(f"/admin/email/{account.id}", data={
        **valid, "smtp_security": "tls1.0"})
    taken = await client.post("/admin/email", data={**valid, "address": "SUPPORT@acme.test"})
    address = await client.post("/admin/email", data={**valid, "address": "support"})

    assert port.status_code == 422
    assert "Check this field: IMAP port." in port.text
    assert 'id="f-imap_port"' in port.text
    assert 'value="99x"' in port.text
    assert "new secret" not in port.text
    assert big_port.status_code == 422
    assert "Check this field: SMTP port." in big_port.text
    assert security.status_code == 422
    assert "Check this field: SMTP security." in security.text
    assert taken.status_code == 409
    assert "This store already has this mailbox." in taken.text
    assert address.status_code == 422
    assert "support is not a mailbox address such as support@shop.example." in address.text
    assert await snapshot(db) == before


# --------------------------------------------------------------------------------------------
# Test connection


async def test_a_working_account_passes_both_checks_and_sends_nothing(
    client: httpx.AsyncClient, db: AsyncSession, store: Store, dovecot: Dovecot,
    smtp_sink: SmtpSink,  # noqa: F811
) -> None:
    smtp_sink.credentials = (SMTP_USER, SMTP_PASSWORD)
    user = new_user()
    dovecot.append(user, b"Subject: x\r\n\r\nbody\r\n")
    account = await account_of(db, store, address=user, imap_host=dovecot.host,
                               imap_port=dovecot.port, password=Dovecot.PASSWORD,
                               smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                               smtp_username=SMTP_USER, smtp_password=SMTP_PASSWORD)
    flags = dovecot.flags(user)
    await sign_in_as(client, db, store, Role.ADMIN)
    before = await snapshot(db)

    response = await client.post(f"/admin/email/{account.id}/test",
                                 headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert "<html" not in response.text  # a fragment for htmx
    assert 'data-ok="true"' in response.text
    assert outcome(response.text, "imap") == outcome(response.text, "smtp") == "ok"
    assert "Works: signed in and opened the folder INBOX." in line(response.text, "imap")
    assert (f"Works: connected and signed in at {smtp_sink.host}:{smtp_sink.port}. "
            "No mail was sent.") in line(response.text, "smtp")
    assert smtp_sink.messages == []
    assert dovecot.flags(user) == flags  # nothing read, nothing flagged
    assert await snapshot(db) == before


async def test_a_wrong_password_is_reported_with_each_servers_words(
    client: httpx.AsyncClient, db: AsyncSession, store: Store, dovecot: Dovecot,
    smtp_sink: SmtpSink,  # noqa: F811
) -> None:
    smtp_sink.credentials = (SMTP_USER, SMTP_PASSWORD)
    account = await account_of(db, store, imap_host=dovecot.host, imap_port=dovecot.port,
                               password="not the password", smtp_host=smtp_sink.host,
                               smtp_port=smtp_sink.port, smtp_username=SMTP_USER,
                               smtp_password="wrong too")
    await sign_in_as(client, db, store, Role.ADMIN, language="pl")

    response = await client.post(f"/admin/email/{account.id}/test",
                                 headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert 'data-ok="false"' in response.text
    assert outcome(response.text, "imap") == outcome(response.text, "smtp") == "auth_failed"
    imap_line = line(response.text, "imap")
    assert f"{dovecot.host}:{dovecot.port} odrzucił nazwę użytkownika lub hasło." in imap_line
    assert "AUTHENTICATIONFAILED" in imap_line
    smtp_line = line(response.text, "smtp")
    assert "odrzucił nazwę użytkownika lub hasło." in smtp_line
    assert "535" in smtp_line
    assert "Odpowiedź serwera:" in smtp_line


async def test_a_closed_port_is_refused_and_the_full_page_works_without_htmx(
    client: httpx.AsyncClient, db: AsyncSession, store: Store
) -> None:
    port = free_port()
    account = await account_of(db, store, imap_host="127.0.0.1", imap_port=port,
                               password="x", smtp_host="127.0.0.1", smtp_port=port)
    await sign_in_as(client, db, store, Role.ADMIN)

    response = await client.post(f"/admin/email/{account.id}/test")

    assert response.status_code == 200
    assert "<html" in response.text  # the whole list, with the result under the account
    assert outcome(response.text, "imap") == outcome(response.text, "smtp") == "refused"
    assert (f"127.0.0.1:{port} refused the connection. Check the port and the security "
            "setting.") in line(response.text, "imap")
    assert "[Errno 111]" in line(response.text, "smtp")


async def test_a_server_that_never_answers_times_out(
    client: httpx.AsyncClient, db: AsyncSession, store: Store, silent_port: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(probe, "PROBE_TIMEOUT_SECONDS", 0.5)
    account = await account_of(db, store, imap_host="127.0.0.1", imap_port=silent_port,
                               password="x", smtp_host="127.0.0.1", smtp_port=silent_port)
    await sign_in_as(client, db, store, Role.ADMIN)

    response = await client.post(f"/admin/email/{account.id}/test",
                                 headers={"HX-Request": "true"})

    assert outcome(response.text, "imap") == outcome(response.text, "smtp") == "timeout"
    assert f"127.0.0.1:{silent_port} did not answer in time." in line(response.text, "smtp")


async def test_tls_against_an_untrusted_or_plain_server_fails_as_tls(
    db: AsyncSession, store: Store, dovecot: Dovecot, smtp_sink: SmtpSink,  # noqa: F811
) -> None:
    # Dovecot's IMAPS port has a self-signed certificate; the sink speaks no TLS at all.
    account = await account_of(db, store, imap_host=dovecot.host, imap_port=dovecot.tls_port,
                               imap_security="ssl", password=Dovecot.PASSWORD,
                               smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                               smtp_security="ssl")

    result = await probe.probe_account(db, account, timeout=5)

    assert (result.imap.outcome, result.smtp.outcome) == (ProbeOutcome.TLS_FAILED,
                                                          ProbeOutcome.TLS_FAILED)
    assert "CERTIFICATE_VERIFY_FAILED" in result.imap.detail
    assert result.imap.passed == result.smtp.passed == ()


async def test_starttls_and_a_trusted_certificate_pass(
    db: AsyncSession, store: Store, dovecot: Dovecot
) -> None:
    import ssl
    trusted = ssl.create_default_context(cafile=str(dovecot.cert))
    account = await account_of(db, store, imap_host=dovecot.host, imap_port=dovecot.port,
                               imap_security="starttls", password=Dovecot.PASSWORD)

    result = await probe.probe_account(db, account, timeout=5, ssl_context=trusted)

    assert result.imap.outcome == ProbeOutcome.OK
    assert result.imap.passed == ("connect", "tls", "login", "folder")
    assert result.smtp.outcome == ProbeOutcome.NOT_CONFIGURED
    assert result.ok


async def test_an_unknown_host_and_a_missing_folder_are_named(
    db: AsyncSession, store: Store, dovecot: Dovecot
) -> None:
    unknown = await account_of(db, store, imap_host="no-such-host.invalid", imap_port=143,
                               password="x", smtp_host="no-such-host.invalid", smtp_port=25)
    no_folder = await account_of(db, store, imap_host=dovecot.host, imap_port=dovecot.port,
                                 password=Dovecot.PASSWORD, imap_folder="Nowhere")

    lost = await probe.probe_account(db, unknown, timeout=5)
    folder = await probe.probe_account(db, no_folder, timeout=5)

    assert (lost.imap.outcome, lost.smtp.outcome) == (ProbeOutcome.UNKNOWN_HOST,
                                                      ProbeOutcome.UNKNOWN_HOST)
    assert folder.imap.outcome == ProbeOutcome.FOLDER_FAILED
    assert folder.imap.passed == ("connect", "login")
    assert folder.imap.detail


async def test_an_account_without_servers_is_not_set_up(
    client: httpx.AsyncClient, db: AsyncSession, store: Store
) -> None:
    account = await account_of(db, store)
    await sign_in_as(client, db, store, Role.ADMIN, language="ko")

    response = await client.post(f"/admin/email/{account.id}/test",
                                 headers={"HX-Request": "true"})

    assert outcome(response.text, "imap") == outcome(response.text, "smtp") == "not_configured"
    assert "설정되지 않았습니다." in line(response.text, "imap")
    assert 'data-ok="false"' in response.text


async def test_a_server_without_its_password_asks_for_it(
    client: httpx.AsyncClient, db: AsyncSession, store: Store
) -> None:
    account = await account_of(db, store, imap_host="127.0.0.1", imap_port=9)
    await sign_in_as(client, db, store, Role.ADMIN)

    response = await client.post(f"/admin/email/{account.id}/test",
                                 headers={"HX-Request": "true"})

    assert outcome(response.text, "imap") == "not_configured"
    imap_line = line(response.text, "imap")
    assert "The server is set, but its password is missing or cannot be read" in imap_line
    assert "The server said" not in imap_line
