"""Who did something, as written into the audit trail."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Actor:
    type: str  # agent | token | channel | customer | system
    id: int | None = None


SYSTEM = Actor("system")
