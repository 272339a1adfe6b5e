"""Every route of the REST API that an API token may call, with placeholders for ids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.api.support import API

OWNER, ADMIN, MANAGER, AGENT, VIEWER, ANALYST = (
    "owner", "admin", "manager", "agent", "viewer", "analyst")
EVERYONE = frozenset({OWNER, ADMIN, MANAGER, AGENT, VIEWER, ANALYST})
WORKERS = frozenset({OWNER, ADMIN, MANAGER, AGENT})


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # "{name}" is replaced by world[name]
    body: dict[str, Any] | None = None  # a string value "{name}" is replaced by world[name]
    roles: frozenset[str] = EVERYONE  # the roles allowed to call it
    status: int = 200  # what an allowed caller gets, with the world's objects
    params: dict[str, str] | None = None

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"

    def url(self, ids: dict[str, int]) -> str:
        return API + self.path.format(**ids)

    def json(self, ids: dict[str, int]) -> dict[str, Any] | None:
        if self.body is None:
            return None
        return {k: ids[v[1:-1]] if isinstance(v, str) and v.startswith("{") else v
                for k, v in self.body.items()}

    async def call(self, client: httpx.AsyncClient, ids: dict[str, int],
                   headers: dict[str, str]) -> httpx.Response:
        return await client.request(self.method, self.url(ids), json=self.json(ids),
                                    params=self.params, headers=headers)


ROUTES = [
    Route("GET", "/tickets"),
    Route("GET", "/tickets/{ticket}"),
    Route("PATCH", "/tickets/{ticket}", {"priority": "high"}, WORKERS),
    Route("POST", "/tickets/{ticket}/merge", {"into_ticket_id": "{ticket2}"}, WORKERS),
    Route("GET", "/tickets/{ticket}/messages"),
    Route("POST", "/tickets/{ticket}/replies", {"text": "Już sprawdzam."}, WORKERS, 201),
    Route("POST", "/tickets/{ticket}/notes", {"text": "Notatka"}, WORKERS | {VIEWER}, 201),
    Route("GET", "/tickets/{ticket}/audit", roles=WORKERS | {ANALYST}),
    Route("GET", "/audit", roles=WORKERS | {ANALYST}),
    Route("GET", "/tags"),
    Route("GET", "/search", params={"q": "zwrot"}),
    Route("GET", "/attachments/{attachment}"),
    Route("GET", "/customers/{customer}"),
    Route("PATCH", "/customers/{customer}", {"note": "VIP"}, WORKERS),
    Route("POST", "/customers/{customer}/merge", {"into_customer_id": "{customer2}"},
          frozenset({OWNER, ADMIN, MANAGER})),
    Route("GET", "/quarantine", roles=frozenset({OWNER, ADMIN})),
    Route("GET", "/quarantine/{payload}", roles=frozenset({OWNER, ADMIN})),
    # the payload is still broken, so an allowed retry quarantines it again
    Route("POST", "/quarantine/{payload}/retry", roles=frozenset({OWNER, ADMIN}), status=422),
    Route("GET", "/pre-approved-actions"),
    Route("POST", "/pre-approved-actions", {"name": "Reship", "kind": "reship"},
          frozenset({OWNER, ADMIN}), 201),
    Route("GET", "/tickets/{ticket}/grants"),
    Route("GET", "/approvals", roles=frozenset({OWNER, ADMIN, MANAGER})),
    Route("GET", "/grants/report", roles=frozenset({OWNER, ADMIN, MANAGER, ANALYST}),
          params={"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}),
    Route("GET", "/escalation-trees"),
    Route("POST", "/escalation-trees/defaults", roles=frozenset({OWNER, ADMIN}), status=201),
    Route("GET", "/tickets/{ticket}/walks"),
    # routing's routes on agents and teams are checked in tests/routing/test_routing_api.py
    Route("GET", "/agents"),
    Route("GET", "/routing/settings"),
    Route("PATCH", "/routing/settings", {"capacities": {"chat": 2}},
          frozenset({OWNER, ADMIN, MANAGER})),
]

# Routes that take another store's object: the domain's not-found code they must answer.
FOREIGN = [
    (Route("GET", "/tickets/{other_ticket}"), "ticket.not_found"),
    (Route("PATCH", "/tickets/{other_ticket}", {"subject": "Przejęty", "status": "closed"}),
     "ticket.not_found"),
    (Route("POST", "/tickets/{other_ticket}/merge", {"into_ticket_id": "{ticket}"}),
     "ticket.not_found"),
    (Route("POST", "/tickets/{ticket}/merge", {"into_ticket_id": "{other_ticket}"}),
     "ticket.not_found"),
    (Route("GET", "/tickets/{other_ticket}/messages"), "ticket.not_found"),
    (Route("POST", "/tickets/{other_ticket}/replies", {"text": "Przejęte"}),
     "ticket.not_found"),
    (Route("POST", "/tickets/{other_ticket}/notes", {"text": "Przejęte"}), "ticket.not_found"),
    (Route("GET", "/tickets/{other_ticket}/audit"), "ticket.not_found"),
    (Route("GET", "/attachments/{other_attachment}"), "attachment.not_found"),
    (Route("GET", "/customers/{other_customer}"), "customer.not_found"),
    (Route("PATCH", "/customers/{other_customer}", {"name": "Przejęty"}),
     "customer.not_found"),
    (Route("POST", "/customers/{other_customer}/merge", {"into_customer_id": "{customer}"}),
     "customer.not_found"),
    (Route("POST", "/customers/{customer}/merge", {"into_customer_id": "{other_customer}"}),
     "customer.not_found"),
    (Route("GET", "/quarantine/{other_payload}"), "quarantine.not_found"),
    (Route("POST", "/quarantine/{other_payload}/retry"), "quarantine.not_found"),
    (Route("POST", "/tickets/{other_ticket}/grants", {"action_id": 1, "reason": "Przejęte"}),
     "ticket.not_found"),
    (Route("GET", "/tickets/{other_ticket}/grants"), "ticket.not_found"),
    (Route("POST", "/tickets/{other_ticket}/walks", {"tree_id": 1}), "ticket.not_found"),
    (Route("GET", "/tickets/{other_ticket}/walks"), "ticket.not_found"),
]
