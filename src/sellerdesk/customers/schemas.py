"""API shapes of customers and identities."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sellerdesk.core.ids import Id


class IdentityRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    value: str
    display_name: str | None


class CustomerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str | None
    email: str | None
    language: str | None
    note: str | None
    merged_into_id: int | None
    identities: list[IdentityRead] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime


class CustomerUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320,
                              pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    language: str | None = Field(default=None, min_length=2, max_length=8)
    note: str | None = Field(default=None, max_length=20_000)

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class CustomerMerge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    into_customer_id: Id
