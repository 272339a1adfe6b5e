from enum import StrEnum


class AccountError(StrEnum):
    STORE_EXISTS = "store.exists"
    STORE_NOT_FOUND = "store.not_found"
    INVALID_SLUG = "store.invalid_slug"
    INVALID_TIMEZONE = "store.invalid_timezone"
    AGENT_EXISTS = "agent.exists"
    INVALID_ROLE = "agent.invalid_role"
    INVALID_TOKEN = "auth.invalid_token"  # noqa: S105 (an error code)
    MISSING_TOKEN = "auth.missing_token"  # noqa: S105 (an error code)
    TEAM_EXISTS = "team.exists"
