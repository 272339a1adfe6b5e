"""Roles and permissions: the one place that decides who may do what."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sellerdesk.core.actor import Actor
from sellerdesk.core.errors import Forbidden


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MANAGER = "manager"
    AGENT = "agent"
    VIEWER = "viewer"
    ANALYST = "analyst"


class Permission(StrEnum):
    TICKET_READ = "ticket.read"
    TICKET_UPDATE = "ticket.update"
    TICKET_REPLY = "ticket.reply"
    TICKET_NOTE = "ticket.note"
    TICKET_MERGE = "ticket.merge"
    CUSTOMER_READ = "customer.read"
    CUSTOMER_UPDATE = "customer.update"
    CUSTOMER_MERGE = "customer.merge"
    AUDIT_READ = "audit.read"
    QUARANTINE_MANAGE = "quarantine.manage"
    SETTINGS_MANAGE = "settings.manage"
    AGENTS_MANAGE = "agents.manage"
    TOKENS_MANAGE = "tokens.manage"
    REPORTS_READ = "reports.read"
    GRANT_REQUEST = "grant.request"
    GRANT_APPROVE = "grant.approve"
    ROUTING_MANAGE = "routing.manage"


_AGENT = {
    Permission.TICKET_READ, Permission.TICKET_UPDATE, Permission.TICKET_REPLY,
    Permission.TICKET_NOTE, Permission.TICKET_MERGE, Permission.CUSTOMER_READ,
    Permission.CUSTOMER_UPDATE, Permission.AUDIT_READ, Permission.GRANT_REQUEST,
}
_MANAGER = _AGENT | {Permission.CUSTOMER_MERGE, Permission.REPORTS_READ,
                     Permission.GRANT_APPROVE, Permission.ROUTING_MANAGE}
_ADMIN = _MANAGER | {
    Permission.QUARANTINE_MANAGE, Permission.SETTINGS_MANAGE, Permission.AGENTS_MANAGE,
    Permission.TOKENS_MANAGE,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission),
    Role.ADMIN: frozenset(_ADMIN),
    Role.MANAGER: frozenset(_MANAGER),
    Role.AGENT: frozenset(_AGENT),
    # A viewer ("light agent") reads and leaves internal notes, never replies to customers.
    Role.VIEWER: frozenset({Permission.TICKET_READ, Permission.TICKET_NOTE,
                            Permission.CUSTOMER_READ}),
    Role.ANALYST: frozenset({Permission.TICKET_READ, Permission.CUSTOMER_READ,
                             Permission.AUDIT_READ, Permission.REPORTS_READ}),
}


class AccessError(StrEnum):
    FORBIDDEN = "access.forbidden"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is acting: a store, a role, and the agent or token behind it."""

    store_id: int
    role: Role
    agent_id: int | None = None
    token_id: int | None = None

    @property
    def actor(self) -> Actor:
        if self.agent_id is not None:
            return Actor("agent", self.agent_id)
        return Actor("token", self.token_id)


def has_permission(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]


def require(principal: Principal, permission: Permission) -> None:
    """Raise Forbidden unless the principal's role grants the permission."""
    if not has_permission(principal.role, permission):
        raise Forbidden(
            AccessError.FORBIDDEN,
            f"role {principal.role.value!r} may not {permission.value}",
        )
