"""`sellerdesk serve` as a real process: HTTP in, the embedded job workers, a signed webhook out,
and a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from sellerdesk.accounts import actions as accounts
from sellerdesk.core.db import Database
from tests.process import (
    JOB_SECONDS,
    STARTUP_SECONDS,
    Webhook,
    clean_env,
    cli,
    free_port,
    wait_until,
)


async def test_serve_receives_processes_replies_and_stops_cleanly(
    tmp_path: Path, webhook: Webhook
) -> None:
    # Given a migrated data folder with a store, an API channel and a token (made before
    # serve starts: one SQLite writer at a time is the simple way).
    data_dir = tmp_path / "data"
    env = clean_env(data_dir)
    await cli(env, "migrate")
    database = Database(f"sqlite+aiosqlite:///{data_dir / 'sellerdesk.db'}")
    try:
        async with database.sessionmaker() as db:
            await accounts.create_store(db, slug="shop", name="Shop")
    finally:
        await database.dispose()
    created, admin = await asyncio.gather(
        cli(env, "channel", "create", "--store", "shop", "--name", "Shop API",
            "--webhook-url", webhook.url),
        cli(env, "token", "create", "--store", "shop", "--role", "admin"),
    )
    channel_token = created.split("inbound token:")[1].split()[0]
    admin_token = admin.strip()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "serve.log"

    # When serve runs
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", "sellerdesk", "serve", "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:

            async def healthy() -> bool:
                if process.poll() is not None:
                    raise AssertionError(f"serve exited early:\n{log_path.read_text()}")
                try:
                    return (await http.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_until(healthy, STARTUP_SECONDS, "/healthz")
            health = (await http.get("/healthz")).json()
            assert health["status"] == "ok"

            # ... a customer message comes in over real HTTP
            inbound = await http.post("/api/v1/inbound", headers={
                "Authorization": f"Bearer {channel_token}"}, json={
                "external_id": "serve-1",
                "from": {"name": "Ewa Nowak", "email": "ewa@example.pl"},
                "subject": "Zwrot zamówienia",
                "text": "Dzień dobry, proszę o zwrot pieniędzy za uszkodzoną paczkę. "
                        "Produkt nie działa.",
            })
            assert inbound.status_code == 201, inbound.text
            ticket_id = inbound.json()["ticket_id"]
            auth = {"Authorization": f"Bearer {admin_token}"}

            # Then the embedded worker detects its language
            async def language() -> str | None:
                ticket = await http.get(f"/api/v1/tickets/{ticket_id}", headers=auth)
                assert ticket.status_code == 200, ticket.text
                return ticket.json()["language"]  # type: ignore[no-any-return]

            assert await wait_until(language, JOB_SECONDS, "language detection") == "pl"

            # And a reply is delivered to the channel's webhook exactly once
            reply = await http.post(f"/api/v1/tickets/{ticket_id}/replies", headers=auth,
                                    json={"text": "Zwrot jest w drodze."})
            assert reply.status_code == 201, reply.text

            async def delivery() -> str | None:
                messages = await http.get(f"/api/v1/tickets/{ticket_id}/messages",
                                          headers=auth)
                mine = [m for m in messages.json() if m["id"] == reply.json()["id"]]
                status = mine[0]["delivery_status"]
                return status if status != "queued" else None  # type: ignore[no-any-return]

            assert await wait_until(delivery, JOB_SECONDS, "delivery") == "sent"
            assert [b["text"] for b in webhook.bodies] == ["Zwrot jest w drodze."]
            assert [b["ticket_id"] for b in webhook.bodies] == [ticket_id]
            assert len(webhook.keys[0]) == 32
    finally:
        # Then SIGTERM stops it cleanly
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
            raise AssertionError(f"serve ignored SIGTERM:\n{log_path.read_text()}") from None

    output = log_path.read_text()
    assert code == 0, output
    assert f"SellerDesk on {base}  (API docs: {base}/api/v1/docs)" in output
    assert f"Uvicorn running on {base}" in output
    assert "Traceback" not in output
