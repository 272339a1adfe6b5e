"""Demo data for `sellerdesk demo` and the first run of `sellerdesk serve`.

Everything written here is synthetic: the store, agents, customers, addresses, order ids,
tracking numbers, company ids and message texts are invented for the demo (example.com,
example.pl and example.kr mailboxes, made-up marketplace relay addresses). The same seed gives
the same content; only the timestamps move with the current time (the last ~3 weeks).

Every row goes through the project's actions: customer messages through the one inbound path,
past agent replies through `record_sent_reply`, ticket changes through `update_ticket`."""

from __future__ import annotations

import asyncio
import shlex
from dataclasses import dataclass

import click
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.actions import (
    create_agent,
    create_api_token,
    create_channel,
    create_store,
    create_team,
)
from sellerdesk.accounts.models import Agent, Team
from sellerdesk.accounts.permissions import Role
from sellerdesk.automation.defaults import install_default_sla
from sellerdesk.automation.empowerment.seed import install_default_tree
from sellerdesk.channels.inbound import ingest
from sellerdesk.channels.models import Channel
from sellerdesk.core import context
from sellerdesk.core.actor import Actor
from sellerdesk.core.clock import now
from sellerdesk.core.config import Settings
from sellerdesk.core.text import detect_language, warm_up
from sellerdesk.demo.content import (
    AGENT_DOMAIN,
    AGENTS,
    DEMO_PASSWORD,
    STORE_NAME,
    STORE_TIMEZONE,
    TEAMS,
)
from sellerdesk.demo.plan import CUSTOMER, Plan, inbound_message, plan_demo
from sellerdesk.jobs import outbox
from sellerdesk.jobs.models import Job
from sellerdesk.tickets.actions import add_note, record_sent_reply, update_ticket
from sellerdesk.tickets.models import Message, Ticket
from sellerdesk.tickets.states import Status


@dataclass(frozen=True, slots=True)
class AgentLogin:
    email: str
    name: str
    role: str
    team: str | None


@dataclass(frozen=True, slots=True)
class DemoSummary:
    store_id: int
    slug: str
    store_name: str
    agents: tuple[AgentLogin, ...]
    password: str
    api_token: str
    inbound_token: str
    tickets: int
    messages: int



async def _create_people(db: AsyncSession, store_id: int) -> tuple[dict[str, Agent],
                                                                   dict[str, Team]]:
    agents: dict[str, Agent] = {}
    for name, local, role, _team, language, _sign in AGENTS:
        agents[local] = await create_agent(
            db, store_id=store_id, email=f"{local}@{AGENT_DOMAIN}", name=name, role=role,
            password=DEMO_PASSWORD, language=language,
        )
    teams: dict[str, Team] = {}
    for team, language in TEAMS:
        members = [agents[a[1]].id for a in AGENTS if a[3] == team]
        teams[team] = await create_team(db, store_id=store_id, name=team, language=language,
                                        agent_ids=members)
    return agents, teams


async def _create_channels(db: AsyncSession, store_id: int) -> tuple[dict[str, Channel], str]:
    """The store's channels by source, and the API channel's inbound token."""
    # No mailbox or webhook behind them: replies from the demo fail delivery with a reason.
    specs = (
        ("email", "email", "Support mailbox", None),
        ("amazon", "email", "Amazon buyer messages", "amazon"),
        ("ebay", "email", "eBay member messages", "ebay"),
        ("chat", "chat", "Website chat", None),
        ("api", "api", "Shop API", None),
    )
    channels: dict[str, Channel] = {}
    inbound_token = ""
    for source, type_, name, marketplace in specs:
        channel, token = await create_channel(db, store_id=store_id, type=type_, name=name,
                                              marketplace=marketplace)
        channels[source] = channel
        if source == "api":
            inbound_token = token
    return channels, inbound_token


async def _write_messages(
    db: AsyncSession, store_id: int, plans: list[Plan], channels: dict[str, Channel],
    agents: dict[str, Agent],
) -> dict[int, Ticket]:
    """Every message of every ticket, oldest first, as it would have arrived and been sent."""
    timeline = sorted((e.at, p.n, i) for p in plans for i, e in enumerate(p.events))
    tickets: dict[int, Ticket] = {}
    for _at, n, i in timeline:
        plan, event = plans[n], plans[n].events[i]
        if event.kind in CUSTOMER:
            result = await ingest(db, inbound_message(plan, i, store_id, channels[plan.source]))
            if n not in tickets:
                ticket = await db.get(Ticket, result.ticket_id) if result.ticket_id else None
                if ticket is None:
                    raise RuntimeError(f"demo ticket {n} was not created: {result}")
                tickets[n] = ticket
            continue
        agent = agents[plan.assignee or ""]
        await record_sent_reply(
            db, ticket=tickets[n], actor=Actor("agent", agent.id), text=event.text,
            sent_at=event.at, author_agent_id=agent.id, author_name=agent.name,
            external_id=event.external_id,
        )
    return tickets


async def _finish_tickets(
    db: AsyncSession, plans: list[Plan], tickets: dict[int, Ticket], agents: dict[str, Agent],
    teams: dict[str, Team],
) -> None:
    """Notes, then team, assignee, priority, tags and status; closing comes last."""
    # The actions stamp these changes with the current time, so going from the oldest
    # conversation to the newest keeps the inbox (latest update first) in a believable order.
    for plan in sorted(plans, key=lambda p: (p.events[-1].at, p.n)):
        ticket = tickets[plan.n]
        agent = agents[plan.assignee] if plan.assignee else None
        actor = Actor("agent", agent.id) if agent else Actor("system")
        if plan.note and agent:
            await add_note(db, ticket=ticket, actor=actor, text=plan.note,
                           author_agent_id=agent.id, author_name=agent.name)
        changes: dict[str, object] = {
            "team_id": teams[plan.team].id, "priority": plan.priority.value,
            "tags": list(plan.tags),
        }
        if agent:
            changes["assignee_id"] = agent.id
        if plan.status is not Status.NEW:
            target = Status.SOLVED if plan.status is Status.CLOSED else plan.status
            changes["status"] = target.value
        await update_ticket(db, ticket=ticket, actor=actor, changes=changes)
        if plan.status is Status.CLOSED:
            await update_ticket(db, ticket=ticket, actor=actor,
                                changes={"status": Status.CLOSED.value})


async def _run_own_jobs(db: AsyncSession, *, after_id: int) -> int:
    """Run the jobs the demo's messages queued (language detection), not other stores' jobs.

    `outbox.run_pending` would also deliver, or give up on, other stores' queued replies when
    `sellerdesk demo` runs against a live database, so only `inbound.received` jobs created
    during seeding run here; one that fails stays queued for the workers.
    """
    settings = context.get().settings
    ids = list((await db.execute(
        select(Job.id).where(Job.id > after_id, Job.name == "inbound.received").order_by(Job.id)
    )).scalars())
    for job_id in ids:
        await outbox.run_job(db, job_id, max_attempts=settings.job_max_attempts,
                             backoff_seconds=settings.job_backoff_seconds)
    return len(ids)


def _warm_up_text() -> None:
    warm_up()
    detect_language("Where is my order?")


async def seed_demo(db: AsyncSession, *, slug: str = "demo", seed: int = 42) -> DemoSummary:
    """Create the demo store; raises Conflict if `slug` is taken. Same seed, same content."""
    store = await create_store(db, slug=slug, name=STORE_NAME, timezone=STORE_TIMEZONE)
    # The stemmer and language model load (seconds of CPU, once per process) while the
    # agents' passwords hash, which releases the GIL.
    warming = asyncio.create_task(asyncio.to_thread(_warm_up_text))
    agents, teams = await _create_people(db, store.id)
    channels, inbound_token = await _create_channels(db, store.id)
    # Before any message arrives, so every demo ticket is measured against the defaults.
    await install_default_sla(db, store_id=store.id)
    await install_default_tree(db, store_id=store.id)  # with its refund/reship actions
    _, api_token = await create_api_token(db, store_id=store.id, role=Role.ADMIN,
                                          name="demo (printed by sellerdesk demo)",
                                          agent_id=agents[AGENTS[0][1]].id)
    plans = plan_demo(seed, now().replace(second=0, microsecond=0))
    last_job = int(await db.scalar(select(func.max(Job.id))) or 0)
    await warming
    tickets = await _write_messages(db, store.id, plans, channels, agents)
    await _finish_tickets(db, plans, tickets, agents, teams)
    await _run_own_jobs(db, after_id=last_job)
    messages = await db.scalar(select(func.count()).where(Message.store_id == store.id))
    logins = tuple(AgentLogin(f"{a[1]}@{AGENT_DOMAIN}", a[0], a[2].value, a[3]) for a in AGENTS)
    return DemoSummary(
        store_id=store.id, slug=slug, store_name=store.name, agents=logins,
        password=DEMO_PASSWORD, api_token=api_token, inbound_token=inbound_token,
        tickets=len(tickets), messages=int(messages or 0),
    )


def print_summary(summary: DemoSummary, settings: Settings) -> None:
    """Where to go, how to sign in, and the tokens (shown only this once)."""
    url = settings.public_url
    echo = click.echo
    echo(f"Demo store {summary.store_name!r} (slug {summary.slug!r}, id {summary.store_id}): "
         f"{summary.tickets} tickets, {summary.messages} messages, all synthetic.")
    echo("")
    echo(f"  Open:      {url}")
    echo(f"  API docs:  {url}/api/v1/docs")
    echo("")
    echo(f"Sign in as any of these agents, password: {summary.password}")
    width = max(len(a.email) for a in summary.agents)
    for a in summary.agents:
        team = f"team {a.team}" if a.team else "all teams"
        echo(f"  {a.email:<{width}}  {a.role:<8} {team:<9}  {a.name}")
    echo("")
    echo("API token (admin; shown only this once, keep it):")
    echo(f"  {summary.api_token}")
    echo(f"  curl -H 'Authorization: Bearer {summary.api_token}' '{url}/api/v1/tickets?limit=5'")
    echo("")
    echo("Inbound token of the 'Shop API' channel (shown only this once) - send a message in:")
    echo(f"  {summary.inbound_token}")
    body = ('{"external_id": "demo-curl-1", "from": {"name": "Ewa Nowak", '
            '"email": "ewa.nowak@example.pl"}, "subject": "Gdzie jest moja paczka?", '
            '"text": "Dzień dobry, zamówienie HW-100001 jeszcze do mnie nie dotarło."}')
    echo(f"  curl -X POST {shlex.quote(url + '/api/v1/inbound')} "
         f"-H 'Authorization: Bearer {summary.inbound_token}' "
         f"-H 'Content-Type: application/json' -d {shlex.quote(body)}")
