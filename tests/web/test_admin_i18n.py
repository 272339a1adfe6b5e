"""The admin pages in Korean and Polish show none of their English source texts."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from jinja2 import Environment
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Store
from sellerdesk.accounts.permissions import Role
from sellerdesk.core import i18n
from sellerdesk.core.i18n_check import Texts, _python_texts, _template_texts
from tests.web.admin_support import build_world, sign_in_as

ROOT = Path(i18n.__file__).parent.parent


def admin_texts() -> set[str]:
    """Every text the admin pages and the invitation mail translate."""
    texts = Texts()
    for path in [*ROOT.glob("web/routes/admin/*.py"), ROOT / "accounts" / "tasks.py"]:
        _python_texts(path, texts)
    env = Environment(autoescape=True)
    for path in (ROOT / "web" / "templates" / "admin").glob("*.html"):
        _template_texts(path, env, texts)
    return texts.all


class _Visible(HTMLParser):
    """Text nodes and the attributes people read (labels, placeholders, titles)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in ("aria-label", "placeholder", "title", "data-offline") and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(" ".join(data.split()))


def visible(html: str) -> list[str]:
    parser = _Visible()
    parser.feed(html)
    return [p.strip().rstrip(":") for p in parser.parts]


def pattern(text: str) -> re.Pattern[str]:
    pieces = re.split(r"\{\w*\}", text)
    return re.compile("(.+?)".join(re.escape(p) for p in pieces))


def leaks(pages: list[str], language: str) -> set[str]:
    """Source texts that appear untranslated (texts equal to their translation excepted)."""
    catalog = i18n.catalog(language)
    sources = [t for t in admin_texts() if catalog.get(t) != t]
    found: set[str] = set()
    for html in pages:
        for part in visible(html):
            for text in sources:
                if part == text or ("{" in text and pattern(text).fullmatch(part)):
                    found.add(text)
    return found


@pytest.mark.parametrize(("language", "sample"), [
    ("ko", "상담원 초대"), ("pl", "Zaproś konsultanta")])
async def test_admin_pages_have_no_english_source_texts(
    client: httpx.AsyncClient, db: AsyncSession, store: Store, language: str, sample: str
) -> None:
    world = await build_world(db, store)
    await sign_in_as(client, db, store, Role.OWNER, language=language)
    paths = ["/admin", "/admin/store", "/admin/agents?done=invited", "/admin/teams?saved=1",
             "/admin/email?saved=1", "/admin/email/new", f"/admin/email/{world.account}",
             "/admin/tokens?revoked=1", "/admin/quarantine",
             f"/admin/quarantine/{world.payload}"]
    pages = [(await client.get(path)).text for path in paths]
    # and the pages that show results and errors
    pages.append((await client.post("/admin/tokens", data={"name": "n", "role": "agent"})).text)
    pages.append((await client.post("/admin/store", data={
        "name": "x", "timezone": "Mars/Base", "default_language": "en"})).text)
    pages.append((await client.post("/admin/agents", data={
        "email": "bad", "name": "x", "role": "agent", "language": "en"})).text)
    pages.append((await client.post(f"/admin/email/{world.account}/test",
                                    headers={"HX-Request": "true"})).text)
    pages.append((await client.post(f"/admin/quarantine/{world.payload}/retry")).text)

    assert sample in pages[2]
    assert f'lang="{language}"' in pages[0]
    assert leaks(pages, language) == set()


def test_the_leak_check_sees_english() -> None:
    html = ('<p>Invite an agent</p><button aria-label="Revoke token 1">x</button>'
            "<p>Quarantine</p>")

    assert leaks([html], "pl") == {"Invite an agent", "Revoke {name}", "Quarantine"}
