"""Imports every domain's tables so the metadata (and migrations) see all of them."""

from __future__ import annotations


def load_models() -> None:
    import sellerdesk.accounts.models
    import sellerdesk.automation.empowerment.models
    import sellerdesk.automation.macros.models
    import sellerdesk.automation.models
    import sellerdesk.automation.routing.models
    import sellerdesk.automation.rules.models
    import sellerdesk.channels.email.models
    import sellerdesk.channels.models
    import sellerdesk.customers.models
    import sellerdesk.jobs.models
    import sellerdesk.tickets.models  # noqa: F401
