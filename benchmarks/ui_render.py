"""Server time to render the agent workspace, and what the inbox weighs in the browser.

A store with 100,000 tickets (bulk-loaded as in benchmarks/inbox.py: ~15% active, teams, tags,
SLA due times) plus one ticket with 50 messages (customer replies, agent replies and notes, in
en/ko/pl) written through the real actions. An agent signs in through the real session code, then
the app is called in-process over ASGI (no network, no browser), timing each full request:
  inbox          GET /inbox?view=open               (all open, soonest SLA first, 50 rows)
  inbox_updated  GET /inbox?view=open&sort=updated  (all open, latest activity first)
  ticket         GET /tickets/{id}           (the 50-message ticket)
Page weight: the inbox HTML plus every stylesheet and script it links (uncompressed bytes, and
gzip for reference). Goals (issue 3): p95 < 50 ms on SQLite; inbox weight < 150 KB.

    .venv/bin/python benchmarks/ui_render.py [--n 100000] [--backend sqlite|postgresql]
        [--iterations 300]
"""

from __future__ import annotations

import asyncio
import gzip
import re
import time
from typing import Any

from _common import Stopwatch, bench_database, emit, log, machine_info, parser, summary_ms
from inbox import load_postgres, load_sqlite

TEXTS = (
    ("customer", "Dzień dobry, paczka nie dotarła. Numer zamówienia 304-1234567-1234567."),
    ("agent", "Dzień dobry, sprawdzam status przesyłki i wracam z odpowiedzią."),
    ("customer", "주문한 상품이 아직 도착하지 않았습니다. 환불 가능할까요?"),
    ("note", "Kurier potwierdził zagubienie paczki; proponuję zwrot pieniędzy."),
    ("agent", "Hello, the courier confirmed the parcel is lost; a refund is on its way."),
)
PASSWORD = "benchmark password"  # noqa: S105 (a throw-away benchmark agent)
LINK = re.compile(r'<(?:script|link)[^>]+(?:src|href)="(/static/[^"]+)"')


async def prepare(url: str, settings: Any) -> dict[str, Any]:
    """An agent with a password and a session, and the 50-message ticket (through actions)."""
    from sqlalchemy import text

    from sellerdesk.accounts import actions as accounts
    from sellerdesk.accounts import signin
    from sellerdesk.accounts.permissions import Role
    from sellerdesk.core import context
    from sellerdesk.core.actor import Actor
    from sellerdesk.core.clock import now
    from sellerdesk.core.db import Database
    from sellerdesk.tickets import actions as tickets
    from sellerdesk.tickets.models import Message, Ticket
    from sellerdesk.tickets.states import DeliveryStatus, Direction

    database = Database(url)
    context.init(settings, database)
    async with database.sessionmaker() as db:
        agent = await accounts.create_agent(db, store_id=1, email="bench@example.com",
                                            name="Bench Agent", role=Role.AGENT,
                                            password=PASSWORD, language="pl")
        await db.execute(text("INSERT INTO team_members (team_id, agent_id) VALUES (1, :a)"),
                         {"a": agent.id})
        await db.commit()
        signed = await signin.sign_in(db, email="bench@example.com",
                                      password=PASSWORD, ip=None)
        ticket = await db.get(Ticket, 1)
        assert ticket is not None
        ticket.status = "open"  # a closed ticket takes no new messages
        await db.commit()
        actor = Actor("agent", agent.id)
        for i in range(50):
            kind, body = TEXTS[i % len(TEXTS)]
            if kind == "note":
                await tickets.add_note(db, ticket=ticket, text=body, actor=actor)
            elif kind == "agent":
                await tickets.reply(db, ticket=ticket, text=body, actor=actor)
            else:
                # Customer mail is data here, not what is measured: written as rows.
                db.add(Message(store_id=1, ticket_id=ticket.id, channel_id=ticket.channel_id,
                               direction=Direction.INBOUND, author_customer_id=ticket.customer_id,
                               text=body, delivery_status=DeliveryStatus.RECEIVED,
                               created_at=now()))
                await db.commit()
    return {"token": signed.token, "ticket_id": 1, "csrf": signed.session.csrf_token,
            "database": database}


async def measure(url: str, settings: Any, iterations: int) -> dict[str, Any]:
    import httpx

    from sellerdesk.api.app import create_app
    from sellerdesk.web.cookies import SESSION_COOKIE, signer

    state = await prepare(url, settings)
    cookie = signer("session").sign(state["token"]).decode()
    app = create_app()
    transport = httpx.ASGITransport(app=app)
    paths = {"inbox": "/inbox?view=open", "inbox_updated": "/inbox?view=open&sort=updated",
             "ticket": f"/tickets/{state['ticket_id']}"}
    result: dict[str, Any] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                 cookies={SESSION_COOKIE: cookie}) as http:
        for name, path in paths.items():
            first = await http.get(path)
            if first.status_code != 200:
                raise SystemExit(f"{path}: HTTP {first.status_code}\n{first.text[:2000]}")
            for _ in range(20):  # warm-up: template compile, statement caches
                await http.get(path)
            times = []
            for _ in range(iterations):
                start = time.perf_counter()
                response = await http.get(path)
                times.append(time.perf_counter() - start)
                assert response.status_code == 200
            result[name] = {**summary_ms(times), "html_bytes": len(first.content)}
            log(f"{name}: p95 {result[name]['p95_ms']} ms")
        inbox = (await http.get(paths["inbox"])).text
        result["inbox"]["rows"] = inbox.count('<tr id="ticket-')
        assets = sorted(set(LINK.findall(inbox)))
        bodies = {asset.split("?")[0]: (await http.get(asset)).content for asset in assets}
        weights = {name: len(body) for name, body in bodies.items()}
        html = len(inbox.encode())
        total = html + sum(weights.values())
        gz = len(gzip.compress(inbox.encode())) + sum(
            len(gzip.compress(body)) for body in bodies.values())
        result["inbox_weight"] = {"html_bytes": html, "assets": weights,
                                  "total_bytes": total, "total_kb": round(total / 1024, 1),
                                  "gzip_total_kb": round(gz / 1024, 1)}
    await state["database"].dispose()
    return result


def main() -> None:
    p = parser("ui_render", 100_000, __doc__)
    p.add_argument("--iterations", type=int, default=300)
    args = p.parse_args()
    watch = Stopwatch()
    result: dict[str, Any] = {"benchmark": "ui_render", "backend": args.backend, "n": args.n,
                              "iterations": args.iterations,
                              "goal": {"p95_ms": 50, "inbox_weight_kb": 150}}
    with bench_database("ui_render", args) as dbh:
        with watch("load"):
            if dbh.backend == "sqlite":
                load_sqlite(dbh, args.n, args.seed)
            else:
                asyncio.run(load_postgres(dbh, args.n, args.seed))
        with watch("render"):
            result["render"] = asyncio.run(measure(dbh.url, dbh.settings(), args.iterations))
    render = result["render"]
    result["goal"]["met"] = {
        **{k: render[k]["p95_ms"] < 50 for k in ("inbox", "inbox_updated", "ticket")},
        "inbox_weight": render["inbox_weight"]["total_kb"] < 150,
    }
    result["phases_s"] = watch.phases
    result["machine"] = machine_info()
    emit(result)


if __name__ == "__main__":
    main()
