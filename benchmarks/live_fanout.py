"""Live fan-out: how long a new customer message takes to reach every open workspace socket.

A real `sellerdesk serve` (SQLite in a temporary folder, embedded job workers) with `--n`
WebSockets open to /ws, all signed in with one agent's session cookie (the gateway's work is the
same per socket whoever owns it). Each round posts one customer message through the inbound API
and records, per socket, the time from the POST being sent until that socket has received the
`ticket.created` event (published after the commit, before the response), and the spread from
the first socket's arrival to the last's: the fan-out itself. The clients run in this one
process, so the figures include their own event loop's time to read N frames: an upper bound on
what the server adds. `--bus redis` runs a throw-away redis-server on loopback and points serve
at it (Redis pub/sub fan-out, as when scaled out; the job queue then uses Redis too). Also
reported: serve's resident memory before and after the sockets are open.

    .venv/bin/python benchmarks/live_fanout.py [--n 1000] [--rounds 30] [--bus local|redis]
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from _common import ROOT, emit, log, machine_info, mib, parser, summary_ms

PASSWORD = "benchmark password"  # noqa: S105 (a throw-away benchmark agent)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_env(data_dir: Path, redis_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.upper().startswith("SELLERDESK_")
           and k.upper() not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"SELLERDESK_DATA_DIR": str(data_dir), "SELLERDESK_SECRET_KEY": "bench",
                "SELLERDESK_DEMO_ON_FIRST_RUN": "false", "SELLERDESK_LOG_LEVEL": "warning",
                "SELLERDESK_IMAP_IDLE": "false"})
    if redis_url:
        env["SELLERDESK_REDIS_URL"] = redis_url
    return env


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "sellerdesk", *args], env=env,  # noqa: S603
                          capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise SystemExit(f"sellerdesk {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


async def seed(data_dir: Path) -> None:
    from sellerdesk.accounts import actions as accounts
    from sellerdesk.accounts.permissions import Role
    from sellerdesk.core.db import Database

    database = Database(f"sqlite+aiosqlite:///{data_dir / 'sellerdesk.db'}")
    try:
        async with database.sessionmaker() as db:
            store = await accounts.create_store(db, slug="shop", name="Shop")
            await accounts.create_agent(db, store_id=store.id, email="bench@shop.test",
                                        name="Bench Agent", role=Role.AGENT, password=PASSWORD)
    finally:
        await database.dispose()


async def session_cookie(base: str) -> str:
    async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=30) as http:
        form = await http.get("/login")
        token = CSRF.search(form.text)
        assert token, "no CSRF token on /login"
        signed = await http.post("/login", data={"email": "bench@shop.test",
                                                 "password": PASSWORD,
                                                 "csrf_token": token.group(1)})
        assert signed.status_code == 303, signed.text
        return f"sd_session={http.cookies['sd_session']}"


class Socket:
    def __init__(self) -> None:
        self.received: dict[int, float] = {}  # ticket id -> when ticket.created arrived
        self.ready = asyncio.Event()

    async def run(self, url: str, origin: str, cookie: str, stop: asyncio.Event) -> None:
        from websockets.asyncio.client import connect
        from websockets.typing import Origin

        async with connect(url, origin=Origin(origin), additional_headers={"Cookie": cookie},
                           proxy=None, open_timeout=60, compression=None) as ws:
            reader = asyncio.ensure_future(self._read(ws))
            await stop.wait()
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader

    async def _read(self, ws: Any) -> None:
        async for raw in ws:
            event = json.loads(raw)
            if event["type"] == "ready":
                self.ready.set()
            elif event["type"] == "ticket.created":
                self.received[event["ticket_id"]] = time.perf_counter()


async def measure(base: str, channel_token: str, n: int, rounds: int,
                  pid: int) -> dict[str, Any]:
    import psutil

    cookie = await session_cookie(base)
    rss_before = mib(psutil.Process(pid).memory_info().rss)
    sockets = [Socket() for _ in range(n)]
    stop = asyncio.Event()
    url = base.replace("http://", "ws://") + "/ws"
    tasks = []
    opened_at = time.perf_counter()
    for i, sock in enumerate(sockets):
        tasks.append(asyncio.ensure_future(sock.run(url, base, cookie, stop)))
        if i % 50 == 49:  # don't overrun the listen backlog
            await asyncio.sleep(0.05)
    await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in sockets)), 300)
    open_seconds = time.perf_counter() - opened_at
    log(f"{n} sockets open and subscribed in {open_seconds:.1f}s")
    rss_open = mib(psutil.Process(pid).memory_info().rss)

    first: list[float] = []
    last: list[float] = []
    spread: list[float] = []
    every: list[float] = []
    posts: list[float] = []
    async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=30) as http:
        for r in range(-1, rounds):  # round -1 warms serve up (text models, caches)
            sent = time.perf_counter()
            response = await http.post(
                "/api/v1/inbound", headers={"Authorization": f"Bearer {channel_token}"},
                json={"external_id": f"bench-{r}", "from": {"email": f"c{r}@example.pl"},
                      "subject": f"Order {r}", "text": "Where is my parcel?"})
            if r >= 0:
                posts.append(time.perf_counter() - sent)
            assert response.status_code == 201, response.text
            ticket_id = int(response.json()["ticket_id"])
            deadline = time.perf_counter() + 60
            while sum(ticket_id in s.received for s in sockets) < n:
                if time.perf_counter() > deadline:
                    raise SystemExit(f"round {r}: not every socket got ticket {ticket_id}")
                await asyncio.sleep(0.005)
            arrivals = sorted(s.received[ticket_id] - sent for s in sockets)
            if r < 0:
                continue
            spread.append(arrivals[-1] - arrivals[0])
            first.append(arrivals[0])
            last.append(arrivals[-1])
            every.extend(arrivals)
            await asyncio.sleep(0.2)  # let the jobs of the message run between rounds
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "sockets_open_seconds": round(open_seconds, 2),
        "serve_rss_mib_before_sockets": rss_before,
        "serve_rss_mib_with_sockets": rss_open,
        "serve_rss_kib_per_socket": round((rss_open - rss_before) * 1024 / n, 1),
        "inbound_post": summary_ms(posts),
        "first_socket": summary_ms(first),
        "last_socket": summary_ms(last),
        "every_socket": summary_ms(every),
        "first_to_last_socket": summary_ms(spread),
    }


def start_redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        raise SystemExit("--bus redis needs redis-server (Debian package redis-server)")
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 (a fixed binary and arguments)
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
         "no", "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    return process, f"redis://127.0.0.1:{port}/0"


async def wait_healthy(base: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 120
    async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=5) as http:
        while True:
            if process.poll() is not None:
                raise SystemExit(f"serve exited early:\n{log_path.read_text()}")
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/healthz")).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise SystemExit("serve did not become healthy")
            await asyncio.sleep(0.2)


def main() -> None:
    p = parser("live_fanout", 1000, __doc__)
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--bus", choices=("local", "redis"), default="local")
    args = p.parse_args()
    if args.backend != "sqlite":
        raise SystemExit("this benchmark runs serve on SQLite (the database is not its subject)")
    folder = Path(tempfile.mkdtemp(prefix="sellerdesk-live-"))
    redis_process = None
    redis_url = None
    if args.bus == "redis":
        redis_process, redis_url = start_redis(folder)
    data_dir = folder / "data"
    env = serve_env(data_dir, redis_url)
    serve = None
    try:
        cli(env, "migrate")
        asyncio.run(seed(data_dir))
        created = cli(env, "channel", "create", "--store", "shop", "--name", "Bench API",
                      "--webhook-url", "http://127.0.0.1:9/unused")
        channel_token = created.split("inbound token:")[1].split()[0]
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log_path = folder / "serve.log"
        with log_path.open("wb") as out:
            serve = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
                [sys.executable, "-m", "sellerdesk", "serve", "--port", str(port)],
                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        asyncio.run(wait_healthy(base, serve, log_path))
        log(f"serve is up on {base} (bus: {args.bus}); opening {args.n} sockets")
        figures = asyncio.run(measure(base, channel_token, args.n, args.rounds, serve.pid))
        emit({"benchmark": "live_fanout", "sockets": args.n, "rounds": args.rounds,
              "bus": args.bus, "backend": "sqlite", **figures, "machine": machine_info()})
    finally:
        if serve is not None:
            serve.send_signal(signal.SIGTERM)
            try:
                serve.wait(30)
            except subprocess.TimeoutExpired:
                serve.kill()
        if redis_process is not None:
            redis_process.terminate()
            redis_process.wait(10)
        if args.keep:
            log(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
