"""A small tree with one outcome of every kind, for the tree and walk tests."""

from __future__ import annotations

from typing import Any


def text(en: str, **others: str) -> dict[str, str]:
    return {"en": en, **others}


def nodes(*, macro_id: int, action_id: int, team_id: int, amount: str | None = None
          ) -> list[dict[str, Any]]:
    """start → (damaged → refund | ask_photo → resolve) | (late → escalate) | (other → tip)."""
    refund: dict[str, Any] = {"type": "action", "action_id": action_id}
    if amount is not None:
        refund["amount"] = amount
    return [
        {"id": "start", "kind": "question",
         "text": text("What is wrong?", pl="Co jest nie tak?", ko="무엇이 문제인가요?"),
         "answers": [
             {"id": "damaged", "label": text("Damaged", pl="Uszkodzone"), "next": "photo"},
             {"id": "late", "label": text("Late", pl="Spóźnione"), "next": "escalate"},
             {"id": "other", "label": text("Something else"), "next": "tip"}]},
        {"id": "photo", "kind": "question",
         "text": text("Is there a photo of the damage?", pl="Czy jest zdjęcie?"),
         "answers": [{"id": "yes", "label": text("Yes", pl="Tak"), "next": "refund"},
                     {"id": "no", "label": text("No", pl="Nie"), "next": "ask_photo"}]},
        {"id": "refund", "kind": "outcome", "text": text("Refund it."), "outcome": refund},
        {"id": "ask_photo", "kind": "outcome", "text": text("Ask for a photo."),
         "outcome": {"type": "resolve", "macro_id": macro_id}},
        {"id": "escalate", "kind": "outcome", "text": text("Hand it to the team."),
         "outcome": {"type": "escalate", "team_id": team_id, "priority": "high"}},
        {"id": "tip", "kind": "outcome", "text": text("Check the FAQ first.",
                                                      pl="Najpierw sprawdź FAQ."),
         "outcome": {"type": "advice"}},
    ]
