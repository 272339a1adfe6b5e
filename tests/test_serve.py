"""`sellerdesk serve` as a real process: HTTP in, the embedded job workers, a signed webhook out,
and a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from sellerdesk.accounts import actions as accounts
from sellerdesk.core.db import Database

STARTUP_SECONDS = 90  # loading the text models (stemmers, language id) takes a while
JOB_SECONDS = 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.upper().startswith("SELLERDESK_") and k.upper() not in ("DATABASE_URL",
                                                                             "REDIS_URL")}
    env.update({
        "SELLERDESK_DATA_DIR": str(data_dir),
        "SELLERDESK_SECRET_KEY": "serve-test",
        "SELLERDESK_DEMO_ON_FIRST_RUN": "false",
        "SELLERDESK_WORKER_THREADS": "2",
        "SELLERDESK_JOB_BACKOFF_SECONDS": "0.5",
        "PYTHONUNBUFFERED": "1",
    })
    return env


async def cli(env: dict[str, str], *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sellerdesk", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, (out + err).decode()
    return out.decode()


class Webhook:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.keys: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.bodies.append(json.loads(body))
                receiver.keys.append(self.headers.get("Idempotency-Key", ""))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)

    def __enter__(self) -> Webhook:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    with Webhook() as hook:
        yield hook


async def wait_until(check: Any, seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds}s waiting for {what}")
        await asyncio.sleep(0.2)


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
