"""Who is viewing which ticket and who is typing a reply: collision warnings for agents.

Each open WebSocket is one connection (`conn`). A connection announces what it views on the
store's bus as a `presence.entry` event; every process applies the announcements it receives to
its own in-memory `Presence`, so with the Redis bus all machines converge. Announcements repeat
with the heartbeat and an entry not refreshed within `VIEW_TTL` expires (a machine that died),
typing lasts `TYPING_TTL` after the last keystroke report, and a closing socket removes its
entry at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

ENTRY = "presence.entry"  # the announcement between gateways; never sent to a browser as is
VIEW_TTL = 75.0  # seconds an announcement holds (three heartbeats)
TYPING_TTL = 8.0  # seconds "is typing" holds after the last typing report


@dataclass(slots=True)
class _Entry:
    agent_id: int
    name: str
    ticket_id: int
    seen_until: float
    typing_until: float


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Who is on one ticket: (agent_id, name) pairs, each agent once, ordered by name."""

    viewing: tuple[tuple[int, str], ...] = ()
    typing: tuple[tuple[int, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.viewing)

    def event(self, ticket_id: int) -> dict[str, Any]:
        return {
            "type": "presence", "ticket_id": ticket_id,
            "viewing": [{"agent_id": a, "name": n} for a, n in self.viewing],
            "typing": [{"agent_id": a, "name": n} for a, n in self.typing],
        }


EMPTY = Snapshot()


def entry_event(*, conn: str, agent_id: int, name: str, ticket_id: int | None,
                typing_for: float = 0.0, hello: bool = False) -> dict[str, Any]:
    """An announcement: `conn` views `ticket_id` (None: views no ticket any more)."""
    return {"type": ENTRY, "conn": conn, "agent_id": agent_id, "name": name,
            "ticket_id": ticket_id, "typing_for": round(max(0.0, typing_for), 3),
            "hello": hello}


class Presence:
    """The presence of every store this process has connections for."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._stores: dict[int, dict[str, _Entry]] = {}
        self._lock = threading.Lock()

    def apply(self, store_id: int, event: dict[str, Any]) -> None:
        """Apply an announcement (idempotent: every connection of the store applies it)."""
        conn = event.get("conn")
        ticket_id = event.get("ticket_id")
        if not isinstance(conn, str):
            return
        with self._lock:
            entries = self._stores.setdefault(store_id, {})
            if not isinstance(ticket_id, int) or isinstance(ticket_id, bool):
                entries.pop(conn, None)
            else:
                now = self._clock()
                typing_for = event.get("typing_for") or 0.0
                entries[conn] = _Entry(
                    agent_id=int(event["agent_id"]), name=str(event["name"]),
                    ticket_id=ticket_id, seen_until=now + VIEW_TTL,
                    typing_until=now + min(float(typing_for), TYPING_TTL),
                )
            if not entries:
                del self._stores[store_id]

    def snapshot(self, store_id: int, ticket_id: int) -> Snapshot:
        now = self._clock()
        viewing: dict[int, str] = {}
        typing: dict[int, str] = {}
        with self._lock:
            self._prune(store_id, now)
            for entry in self._stores.get(store_id, {}).values():
                if entry.ticket_id != ticket_id:
                    continue
                viewing[entry.agent_id] = entry.name
                if entry.typing_until > now:
                    typing[entry.agent_id] = entry.name
        return Snapshot(_ordered(viewing), _ordered(typing))

    def next_change(self, store_id: int, ticket_ids: Iterable[int]) -> float | None:
        """Seconds until an entry on one of these tickets expires or stops typing."""
        wanted = set(ticket_ids)
        now = self._clock()
        soonest: float | None = None
        with self._lock:
            for entry in self._stores.get(store_id, {}).values():
                if entry.ticket_id not in wanted:
                    continue
                for moment in (entry.seen_until, entry.typing_until):
                    if moment > now and (soonest is None or moment < soonest):
                        soonest = moment
        return None if soonest is None else soonest - now

    def _prune(self, store_id: int, now: float) -> None:
        entries = self._stores.get(store_id)
        if entries is None:
            return
        for conn in [c for c, e in entries.items() if e.seen_until <= now]:
            del entries[conn]
        if not entries:
            del self._stores[store_id]


def _ordered(agents: dict[int, str]) -> tuple[tuple[int, str], ...]:
    return tuple(sorted(agents.items(), key=lambda item: (item[1].casefold(), item[0])))


presence = Presence()
