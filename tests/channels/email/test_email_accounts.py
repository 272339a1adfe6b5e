"""Email accounts: set-up, changes, look-ups by address; secrets only ever stored sealed."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.models import Store
from sellerdesk.channels.email import actions, queries
from sellerdesk.channels.models import Channel
from sellerdesk.core.crypto import SecretError, unseal
from sellerdesk.core.errors import Conflict, Invalid, NotFound
from sellerdesk.tickets.models import AuditEvent

PASSWORD = "Hasło-do-skrzynki 2026!"
SMTP_PASSWORD = "smtp-sekret-비밀번호"


async def audit_events(db: AsyncSession, entity_id: int) -> list[AuditEvent]:
    rows = await db.execute(
        select(AuditEvent).where(AuditEvent.entity_type == "email_account",
                                 AuditEvent.entity_id == entity_id).order_by(AuditEvent.id)
    )
    return list(rows.scalars())


async def test_create_account_makes_an_email_channel_and_seals_secrets(
    db: AsyncSession, store: Store
) -> None:
    account = await actions.create_account(
        db, store_id=store.id, address=" Support@Acme.Example ", display_name="Acme Support",
        imap_host="imap.acme.example", imap_port=993, imap_username="support@acme.example",
        password=PASSWORD, smtp_host="smtp.acme.example", smtp_port=587,
        smtp_username="support@acme.example", smtp_password=SMTP_PASSWORD,
    )

    assert account.address == "support@acme.example"
    channel = await db.get(Channel, account.channel_id)
    assert channel is not None
    assert (channel.type, channel.name, channel.store_id) == ("email", "Acme Support", store.id)
    assert account.password_sealed is not None
    assert account.smtp_password_sealed is not None
    assert unseal(account.password_sealed) == PASSWORD
    assert unseal(account.smtp_password_sealed) == SMTP_PASSWORD
    (event,) = await audit_events(db, account.id)
    assert event.action == "email_account.created"
    assert event.after is not None
    assert event.after["password"] == "changed"
    assert event.after["smtp_password"] == "changed"
    assert PASSWORD not in str(event.after)
    assert SMTP_PASSWORD not in str(event.after)


async def test_secrets_are_not_plain_anywhere_in_the_stored_row(
    db: AsyncSession, store: Store
) -> None:
    account = await actions.create_account(
        db, store_id=store.id, address="help@acme.example", password=PASSWORD,
        smtp_password=SMTP_PASSWORD, oauth_client_secret="client-secret-xyz",
        oauth_refresh_token="refresh-token-abc",
    )

    row = (await db.execute(
        text("SELECT * FROM email_accounts WHERE id = :id"), {"id": account.id}
    )).mappings().one()
    stored = " ".join(str(v) for v in row.values())
    for secret in (PASSWORD, SMTP_PASSWORD, "client-secret-xyz", "refresh-token-abc"):
        assert secret not in stored
    assert unseal(row["oauth_client_secret_sealed"]) == "client-secret-xyz"
    assert unseal(row["oauth_refresh_token_sealed"]) == "refresh-token-abc"


async def test_a_sealed_secret_does_not_open_under_another_key(
    db: AsyncSession, store: Store
) -> None:
    account = await actions.create_account(db, store_id=store.id, address="a@acme.example",
                                           password=PASSWORD)
    assert account.password_sealed is not None

    with pytest.raises(SecretError):
        unseal(account.password_sealed, secret_key="a-different-installation-key")


async def test_update_changes_settings_replaces_and_removes_secrets(
    db: AsyncSession, store: Store
) -> None:
    account = await actions.create_account(db, store_id=store.id, address="a@acme.example",
                                           password=PASSWORD, smtp_password=SMTP_PASSWORD)
    old_sealed = account.password_sealed

    await actions.update_account(db, account=account, changes={
        "password": "nowe-hasło", "smtp_password": None, "smtp_host": "mail.acme.example",
        "smtp_security": "ssl", "smtp_port": 465,
    })

    assert account.password_sealed != old_sealed
    assert account.password_sealed is not None
    assert unseal(account.password_sealed) == "nowe-hasło"
    assert account.smtp_password_sealed is None
    assert (account.smtp_host, account.smtp_security, account.smtp_port) == (
        "mail.acme.example", "ssl", 465)
    created, updated = await audit_events(db, account.id)
    assert updated.action == "email_account.updated"
    assert updated.before == {"password": "set", "smtp_password": "set", "smtp_host": None,
                              "smtp_security": "starttls", "smtp_port": None}
    assert updated.after == {"password": "changed", "smtp_password": None,
                             "smtp_host": "mail.acme.example", "smtp_security": "ssl",
                             "smtp_port": 465}


@pytest.mark.parametrize(("changes", "field"), [
    ({"smtp_security": "tls"}, "smtp_security"),
    ({"imap_port": 0}, "imap_port"),
    ({"smtp_port": "587"}, "smtp_port"),
    ({"auth_method": "kerberos"}, "auth_method"),
    ({"password": ""}, "password"),
    ({"smtp_host": "x" * 256}, "smtp_host"),
    ({"is_active": "yes"}, "is_active"),
    ({"password_sealed": "sneaky"}, "password_sealed"),
])
async def test_bad_settings_are_refused_naming_the_field_and_nothing_changes(
    db: AsyncSession, store: Store, changes: dict[str, object], field: str
) -> None:
    account = await actions.create_account(db, store_id=store.id, address="a@acme.example")
    before = {c: getattr(account, c) for c in ("smtp_security", "imap_port", "smtp_port",
                                                "auth_method", "password_sealed", "smtp_host")}

    with pytest.raises(Invalid) as err:
        await actions.update_account(db, account=account, changes=changes)

    assert err.value.field == field
    await db.refresh(account)
    assert {c: getattr(account, c) for c in before} == before
    assert len(await audit_events(db, account.id)) == 1


@pytest.mark.parametrize("address", ["not-an-address", "a@b", "support+t1@acme.example",
                                     "two@@acme.example", ""])
async def test_bad_addresses_are_refused_before_a_channel_is_made(
    db: AsyncSession, store: Store, address: str
) -> None:
    with pytest.raises(Invalid) as err:
        await actions.create_account(db, store_id=store.id, address=address)

    assert err.value.field == "address"
    assert await db.scalar(select(Channel.id)) is None


async def test_a_store_has_each_address_once_but_other_stores_may_reuse_it(
    db: AsyncSession, store: Store, other_store: Store
) -> None:
    first = await actions.create_account(db, store_id=store.id, address="a@acme.example")

    with pytest.raises(Conflict):
        await actions.create_account(db, store_id=store.id, address="A@acme.example")
    second = await actions.create_account(db, store_id=other_store.id, address="a@acme.example")

    # Mail to the address goes to the store that claimed it first.
    found = await queries.receiving_account(db, address="a+t5@ACME.example")
    assert found is not None
    assert found.id == first.id
    assert second.id != first.id


async def test_receiving_account_skips_inactive_and_unknown_addresses(
    db: AsyncSession, store: Store
) -> None:
    account = await actions.create_account(db, store_id=store.id, address="a@acme.example")
    await actions.update_account(db, account=account, changes={"is_active": False})

    assert await queries.receiving_account(db, address="a@acme.example") is None
    assert await queries.receiving_account(db, address="nobody@acme.example") is None


async def test_an_existing_email_channel_can_hold_the_account(
    db: AsyncSession, store: Store, other_store: Store
) -> None:
    channel, _ = await accounts.create_channel(db, store_id=store.id, type="email",
                                               name="Mail")
    api, _ = await accounts.create_channel(db, store_id=store.id, type="api", name="API")
    foreign, _ = await accounts.create_channel(db, store_id=other_store.id, type="email",
                                               name="Theirs")

    account = await actions.create_account(db, store_id=store.id, address="a@acme.example",
                                           channel_id=channel.id)
    for wrong in (api.id, foreign.id):
        with pytest.raises(Invalid) as err:
            await actions.create_account(db, store_id=store.id, address="b@acme.example",
                                         channel_id=wrong)
        assert err.value.field == "channel_id"

    assert account.channel_id == channel.id
    found = await queries.account_for_channel(db, channel_id=channel.id)
    assert found is not None
    assert found.id == account.id


async def test_get_account_is_scoped_to_the_store(
    db: AsyncSession, store: Store, other_store: Store
) -> None:
    account = await actions.create_account(db, store_id=store.id, address="a@acme.example")

    with pytest.raises(NotFound):
        await queries.get_account(db, store_id=other_store.id, account_id=account.id)
    assert (await queries.get_account(db, store_id=store.id, account_id=account.id)).id == (
        account.id)
    assert [a.id for a in await queries.store_accounts(db, store_id=store.id)] == [account.id]
    assert await queries.store_accounts(db, store_id=other_store.id) == []


def test_mailbox_address_drops_the_plus_tag_and_case() -> None:
    assert queries.mailbox_address("<Support+T123@Shop.Example>") == "support@shop.example"
    assert queries.mailbox_address("plain@shop.example") == "plain@shop.example"
