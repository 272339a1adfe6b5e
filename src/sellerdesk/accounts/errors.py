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
    BAD_CREDENTIALS = "auth.bad_credentials"
    LOCKED = "auth.locked"
    SESSION_EXPIRED = "auth.session_expired"
    BAD_CSRF = "auth.bad_csrf"
    RESET_INVALID = "auth.reset_invalid"
    WEAK_PASSWORD = "auth.weak_password"  # noqa: S105 (an error code)
    NO_MAIL_ACCOUNT = "auth.no_mail_account"
    # Admin pages (agents, teams, tokens, store settings)
    INVALID_LANGUAGE = "account.invalid_language"
    INVALID_NAME = "account.invalid_name"
    INVALID_EMAIL = "agent.invalid_email"
    AGENT_NOT_FOUND = "agent.not_found"
    LAST_OWNER = "agent.last_owner"
    OWNER_ONLY = "agent.owner_only"
    NOT_YOURSELF = "agent.not_yourself"
    ALREADY_ACTIVE = "agent.already_signed_up"
    TEAM_NOT_FOUND = "team.not_found"
    TOKEN_NOT_FOUND = "token.not_found"  # noqa: S105 (an error code)
