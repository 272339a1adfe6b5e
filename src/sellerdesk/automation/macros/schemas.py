"""API shapes of macros, their preview and their application to a ticket."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from sellerdesk.automation.macros.templating import MAX_TEMPLATE_CHARS, MAX_VARIANTS, VARIABLES
from sellerdesk.core.ids import Id
from sellerdesk.tickets.schemas import TicketRead
from sellerdesk.tickets.states import Priority, Status

Template = Annotated[str, Field(max_length=MAX_TEMPLATE_CHARS)]
Value = Annotated[str, Field(min_length=1, max_length=2000)]

VARIANTS_DOC = (
    "language code (en, ko, pl, pt-BR: 2-8 characters) → template. Templates print variables "
    "as {{ customer.first_name }}; allowed: " + ", ".join(VARIABLES) + "; filters default, "
    "upper, lower, title, capitalize, trim; {% if %} blocks. No loops, calls or other names."
)
VALUES_DOC = ("values for variables the ticket does not provide (or to override them), "
              "keyed by variable name, e.g. {\"order.number\": \"123-1234567-1234567\"}")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MacroActionsIO(_In):
    """Applied to the ticket when the macro is used; tags are added to the ticket's."""

    status: Status | None = None
    priority: Priority | None = None
    tags: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list,
                                                             max_length=20)


class MacroCreate(_In):
    name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    variants: dict[str, Template] = Field(
        min_length=1, max_length=MAX_VARIANTS, description=VARIANTS_DOC,
        examples=[{"en": "Hello {{ customer.first_name }},\n\n...",
                   "pl": "Dzień dobry {{ customer.first_name }},\n\n..."}])
    actions: MacroActionsIO = Field(default_factory=MacroActionsIO)


class MacroUpdate(_In):
    """Fields to change; variants and actions are replaced whole; null clears description."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    variants: dict[str, Template] | None = Field(default=None, min_length=1,
                                                 max_length=MAX_VARIANTS)
    actions: MacroActionsIO | None = None

    def changes(self) -> dict[str, Any]:
        data = self.model_dump(exclude_unset=True, mode="json")
        return {k: v for k, v in data.items() if v is not None or k == "description"}


class MacroRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str | None
    variants: dict[str, str]
    actions: MacroActionsIO
    created_at: datetime
    updated_at: datetime


class MacroPreviewIn(_In):
    ticket_id: Id
    values: dict[str, Value] = Field(default_factory=dict, max_length=len(VARIABLES),
                                     description=VALUES_DOC)


class MacroPreviewRead(BaseModel):
    language: str = Field(description="The variant used: the ticket's language, the store's "
                                      "default, English, then any")
    text: str = Field(description="The rendered reply; missing variables show as "
                                  "{{ name }} placeholders")
    missing: list[str] = Field(description="Variables without a value, in order of use")


class MacroApplyIn(_In):
    values: dict[str, Value] = Field(default_factory=dict, max_length=len(VARIABLES),
                                     description=VALUES_DOC)
    send: bool = Field(description="Send the rendered text as a reply; false applies the "
                                   "macro's actions only and returns the text for the editor")


class MacroApplyRead(MacroPreviewRead):
    message_id: int | None = Field(description="The queued reply, when sent")
    ticket: TicketRead
