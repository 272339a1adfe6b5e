"""Error codes of routing."""

from __future__ import annotations

from enum import StrEnum


class RoutingError(StrEnum):
    AGENT_NOT_FOUND = "agent.not_found"
    TEAM_NOT_FOUND = "team.not_found"
    INACTIVE_AGENT = "routing.inactive_agent"
    INVALID_AVAILABILITY = "routing.invalid_availability"
    UNKNOWN_CHANNEL_TYPE = "routing.unknown_channel_type"
    UNKNOWN_CHANNEL = "routing.unknown_channel"
    CHANNEL_TAKEN = "routing.channel_taken"
    INVALID_LANGUAGE = "routing.invalid_language"
    INVALID_SKILL = "routing.invalid_skill"
