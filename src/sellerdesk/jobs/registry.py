"""Job handlers by name; the outbox stores the name, the handler does the work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

JobHandler = Callable[..., Awaitable[None]]
GiveUpHandler = Callable[..., Awaitable[None]]


class RetryLater(Exception):
    """Raised by a handler whose work failed for a reason that may pass (network, remote 5xx)."""


@dataclass(frozen=True, slots=True)
class _Entry:
    run: JobHandler
    give_up: GiveUpHandler | None


_HANDLERS: dict[str, _Entry] = {}


def job(
    name: str, *, on_give_up: GiveUpHandler | None = None
) -> Callable[[JobHandler], JobHandler]:
    """Register `handler(db, **payload)`; `on_give_up(db, error, **payload)` runs after the last
    failed attempt so the domain can record the failure (e.g. a message marked failed)."""

    def register(fn: JobHandler) -> JobHandler:
        if name in _HANDLERS and _HANDLERS[name].run is not fn:
            raise RuntimeError(f"job {name!r} registered twice")
        _HANDLERS[name] = _Entry(fn, on_give_up)
        return fn

    return register


PeriodicWork = Callable[[AsyncSession], Awaitable[int]]
_PERIODIC: dict[str, PeriodicWork] = {}


def periodic(name: str) -> Callable[[PeriodicWork], PeriodicWork]:
    """Register `work(db) -> count` for the scheduler's sweep (every SWEEP_INTERVAL_SECONDS)."""

    def register(fn: PeriodicWork) -> PeriodicWork:
        _PERIODIC[name] = fn
        return fn

    return register


def periodic_work() -> dict[str, PeriodicWork]:
    load_handlers()
    return dict(_PERIODIC)


def load_handlers() -> None:
    """Import the modules that register handlers (each domain's tasks.py)."""
    import sellerdesk.accounts.tasks  # noqa: F401
    import sellerdesk.automation.routing.tasks  # noqa: F401
    import sellerdesk.automation.tasks  # noqa: F401
    import sellerdesk.channels.email.tasks  # noqa: F401
    import sellerdesk.channels.tasks  # noqa: F401
    import sellerdesk.tickets.tasks  # noqa: F401


def _entry(name: str) -> _Entry:
    load_handlers()
    return _HANDLERS[name]


async def call(db: AsyncSession, name: str, payload: dict[str, Any]) -> None:
    await _entry(name).run(db, **payload)


async def call_give_up(db: AsyncSession, name: str, payload: dict[str, Any], error: str) -> None:
    give_up = _entry(name).give_up
    if give_up is not None:
        await give_up(db, error, **payload)
