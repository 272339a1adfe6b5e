"""What every admin page shares: the layout's context, form fields, and translated errors."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse

from sellerdesk.accounts.permissions import Role
from sellerdesk.core.errors import AppError, NotFound
from sellerdesk.core.i18n import N_
from sellerdesk.web.session import WebUser
from sellerdesk.web.templating import Page, render

Text = Annotated[str, Form()]

ROLE_NAMES = {
    Role.OWNER: N_("Owner"),
    Role.ADMIN: N_("Administrator"),
    Role.MANAGER: N_("Manager"),
    Role.AGENT: N_("Agent"),
    Role.VIEWER: N_("Viewer (notes only)"),
    Role.ANALYST: N_("Analyst (reports only)"),
}

# Error codes of the actions the admin pages call → what the page says.
_ERRORS = {
    "store.invalid_timezone": N_("{zone} is not a time zone such as Europe/Warsaw."),
    "account.invalid_language": N_("Choose a language from the list."),
    "account.invalid_name": N_("Enter a name; it may not be empty or too long."),
    "agent.invalid_email": N_("{value} is not an email address such as ola@shop.example."),
    "agent.invalid_role": N_("Choose a role from the list."),
    "agent.exists": N_("There is already an agent with this address."),
    "agent.last_owner": N_("The store needs an active owner: make someone else owner first."),
    "agent.owner_only": N_("Only an owner can give the owner role or change an owner."),
    "agent.not_yourself": N_("You cannot deactivate yourself."),
    "agent.already_signed_up": N_("This agent has already chosen a password or is "
                                  "deactivated."),
    "team.exists": N_("There is already a team with this name."),
    "email_account.invalid_address": N_("{value} is not a mailbox address such as "
                                        "support@shop.example."),
    "email_account.address_taken": N_("This store already has this mailbox."),
    "email_account.invalid_field": N_("Check this field: {field}."),
    "quarantine.not_quarantined": N_("This payload is no longer in quarantine."),
}
_FALLBACK = N_("That did not work")


def error_text(page: Page, exc: AppError, *, value: str = "", field_names: dict[str, str]
               | None = None) -> str:
    """The sentence an admin reads for an action's error (never the English API message)."""
    field = (field_names or {}).get(exc.field or "", exc.field or "")
    template = _ERRORS.get(exc.code, _FALLBACK)
    return page._(template, value=value, zone=value, field=page._(field) if field else "")


def refuse(exc: AppError) -> None:
    """Another store's (or no) object stays a 404 page; other errors are shown in the form."""
    if isinstance(exc, NotFound):
        raise exc


def admin_page(request: Request, user: WebUser, name: str, context: dict[str, Any] | None = None,
               *, status_code: int = 200) -> HTMLResponse:
    area = name.removeprefix("admin/").split(".")[0].split("_")[0]
    values: dict[str, Any] = {"user": user, "section": "admin", "area": area,
                              "role_names": ROLE_NAMES, "Role": Role}
    values.update(context or {})
    return render(request, user.page, name, values, status_code=status_code)
