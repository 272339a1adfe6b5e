"""API shapes of routing: agents' availability and routing, teams' routing, store defaults."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from sellerdesk.automation.routing.strategies import Availability, Mode
from sellerdesk.core.ids import Id

Seats = Annotated[int, Field(ge=0, le=1000)]
Capacities = Annotated[
    dict[Annotated[str, Field(max_length=32)], Seats | None],
    Field(max_length=20, description="channel type → open tickets at once (null: unlimited)",
          examples=[{"chat": 3, "email": None}]),
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, mode="json")


class AvailabilityUpdate(_In):
    availability: Availability


class AgentRoutingUpdate(_In):
    """Fields left out stay as they are."""

    languages: list[Annotated[str, Field(max_length=8)]] | None = Field(
        default=None, max_length=20, examples=[["ko", "en"]],
        description="languages the agent answers in; empty: their interface language")
    skills: list[Annotated[str, Field(max_length=100)]] | None = Field(
        default=None, max_length=50, examples=[["returns", "amazon"]],
        description="matched against a ticket's tags and marketplace")
    capacities: Capacities | None = Field(
        default=None, description="the agent's own seats per channel type; a type left out "
        "follows the store's default")


class AgentRoutingRead(BaseModel):
    id: int
    name: str
    email: str
    role: str
    is_active: bool
    availability: Availability
    availability_changed_at: datetime | None
    languages: list[str]
    skills: list[str]
    capacities: dict[str, int | None]
    effective_capacities: dict[str, int | None]
    load: dict[str, int] = Field(description="tickets new or open, per channel type")
    weighted_load: int = Field(description="the same tickets weighted urgent 4, high 2, "
                               "normal 1, low 1")
    team_ids: list[int]


class TeamRoutingUpdate(_In):
    mode: Mode | None = None
    channel_ids: list[Id] | None = Field(
        default=None, max_length=100,
        description="channels whose new tickets enter this team when no rule chose a team")


class TeamRoutingRead(BaseModel):
    team_id: int
    name: str
    mode: Mode
    channel_ids: list[int]
    agent_ids: list[int]
    queued: int
    updated_at: datetime | None


class TeamQueueRead(BaseModel):
    team_id: int
    ticket_ids: list[int] = Field(description="in the order they are served")


class RoutingSettingsUpdate(_In):
    capacities: Capacities | None = None
    reroute_on_offline: list[Annotated[str, Field(max_length=32)]] | None = Field(
        default=None, max_length=20,
        description="channel types whose open tickets are routed again when their agent "
        "goes offline")


class RoutingSettingsRead(BaseModel):
    capacities: dict[str, int | None]
    reroute_on_offline: list[str]
    updated_at: datetime | None
