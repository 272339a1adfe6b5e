"""Search results: tickets whose messages match, each with the matching words highlighted."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup, escape

from sellerdesk.api.deps import SessionDep
from sellerdesk.core.errors import Invalid
from sellerdesk.core.i18n import N_
from sellerdesk.core.ids import MAX_ID
from sellerdesk.core.text import index_terms, query_groups
from sellerdesk.tickets import queries, views
from sellerdesk.web.routes.inbox import labels
from sellerdesk.web.session import CurrentUser
from sellerdesk.web.templating import render

router = APIRouter()

RESULTS = 25  # matching messages per page (newest first); a ticket shows once per page
SNIPPET_CHARS = 220
_SCAN_CHARS = 20_000  # highlight within the start of very long messages only
_WORD = re.compile(r"[^\W_]+")
_SPACES = re.compile(r"\s+")
_CJK = ((0x1100, 0x11FF), (0x3040, 0x30FF), (0x3130, 0x318F), (0x3400, 0x4DBF),
        (0x4E00, 0x9FFF), (0xA960, 0xA97F), (0xAC00, 0xD7FF), (0xF900, 0xFAFF))


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _CJK)


def matching_spans(text: str, q: str) -> list[tuple[int, int]]:
    """Where the query's terms occur in text, as the search analyzer sees words: a Latin word
    matches through its stems ("zwroty" for "zwrot", "refunds" for "refund"), Korean and other
    CJK text through the query's character pairs."""
    wanted = {term for group in query_groups(q) for term in group}
    spans: list[tuple[int, int]] = []
    if not wanted:
        return spans
    for match in _WORD.finditer(text[:_SCAN_CHARS]):
        word = match.group()
        if not wanted.intersection(index_terms(word)):
            continue
        if not any(_is_cjk(c) for c in word):
            spans.append(match.span())
            continue
        start = match.start()
        marked = [False] * len(word)
        for i in range(len(word)):
            for size in (2, 1):
                piece = word[i:i + size]
                if len(piece) == size and piece.casefold() in wanted:
                    for j in range(i, i + size):
                        marked[j] = True
        i = 0
        while i < len(word):
            if marked[i]:
                j = i
                while j < len(word) and marked[j]:
                    j += 1
                spans.append((start + i, start + j))
                i = j
            else:
                i += 1
    return spans


def snippet(text: str, q: str, width: int = SNIPPET_CHARS) -> Markup:
    """A window of text around the first match, escaped, with each match in <mark>."""
    text = _SPACES.sub(" ", text).strip()
    spans = matching_spans(text, q)
    begin = 0
    if spans and spans[0][0] > width // 3:
        begin = text.rfind(" ", 0, spans[0][0] - width // 3) + 1
    end = min(len(text), begin + width)
    if end < len(text) and (cut := text.rfind(" ", begin, end)) > begin + width // 2:
        end = cut
    out = [Markup("…") if begin > 0 else Markup("")]
    at = begin
    for low, high in spans:
        if high <= begin or low >= end:
            continue
        low, high = max(low, begin), min(high, end)
        out.append(escape(text[at:low]))
        out.append(Markup("<mark>{}</mark>").format(text[low:high]))
        at = high
    out.append(escape(text[at:end]))
    if end < len(text):
        out.append(Markup("…"))
    return Markup("").join(out)


@router.get("/search")
async def search(
    request: Request,
    db: SessionDep,
    user: CurrentUser,
    q: Annotated[str, Query(max_length=500)] = "",
    before: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    query = q.strip()
    context = {"user": user, "query": query, "results": [], "older": None, **labels()}
    if not query:
        return render(request, user.page, "inbox/search.html", context)
    before_id = None
    if before:
        if not (before.isascii() and before.isdigit() and 1 <= int(before) <= MAX_ID):
            raise Invalid("request.invalid", user.page._(N_("This results page is unknown.")),
                          field="before")
        before_id = int(before)
    hits = await queries.search_messages(db, store_id=user.store.id, q=query, limit=RESULTS,
                                         before_id=before_id)
    first_hits: dict[int, queries.SearchHit] = {}
    for hit in hits:  # newest first: keep each ticket's newest matching message
        first_hits.setdefault(hit.ticket.id, hit)
    rows = await views.inbox_rows(db, store_id=user.store.id,
                                  tickets=[h.ticket for h in first_hits.values()])
    agents = dict(await views.store_agents(db, store_id=user.store.id))
    results = [
        {"row": row, "message": hit.message, "subject": snippet(row.ticket.subject, query, 500),
         "snippet": snippet(hit.message.display_text or hit.message.text, query)}
        for row, hit in zip(rows, first_hits.values(), strict=True)
    ]
    context.update({
        "results": results, "agent_names": agents,
        "older": hits[-1].message.id if len(hits) == RESULTS else None,
    })
    return render(request, user.page, "inbox/search.html", context)
