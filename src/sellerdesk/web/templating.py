"""Jinja2 set-up for the workspace: translations, the agent's time zone, CSRF token, assets."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from hashlib import sha256
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from sellerdesk.accounts.permissions import Permission
from sellerdesk.core import i18n
from sellerdesk.core.clock import now

# How each UI language writes a date and time (strftime), short and long.
_DATE_FORMATS = {
    "en": ("%d %b %H:%M", "%d %b %Y, %H:%M"),
    "ko": ("%m. %d. %H:%M", "%Y. %m. %d. %H:%M"),
    "pl": ("%d.%m %H:%M", "%d.%m.%Y, %H:%M"),
}


@cache
def asset_version(name: str) -> str:
    """A content hash for a static file's URL, so browsers may cache it for good."""
    data = (resources.files("sellerdesk") / "web" / "static" / name).read_bytes()
    return sha256(data).hexdigest()[:10]


def static_url(name: str) -> str:
    return f"/static/{name}?v={asset_version(name)}"


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("sellerdesk", "web/templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.globals["static_url"] = static_url
    env.globals["LANGUAGE_NAMES"] = i18n.LANGUAGE_NAMES
    env.globals["permissions"] = Permission
    return env


class Page:
    """What every template sees about who is looking: language, zone, CSRF token."""

    def __init__(self, language: str, timezone: str, csrf_token: str) -> None:
        self.language = i18n.supported(language)
        self.zone = ZoneInfo(timezone)
        self.csrf_token = csrf_token

    def _(self, text: str, **values: Any) -> str:
        return i18n.translate(self.language, text, **values)

    def plural(self, singular: str, plural_text: str, n: int, **values: Any) -> str:
        return i18n.plural(self.language, singular, plural_text, n, **values)

    def dt(self, value: datetime | None, style: str = "short") -> str:
        if value is None:
            return ""
        short, long = _DATE_FORMATS[self.language]
        return value.astimezone(self.zone).strftime(long if style == "long" else short)

    def ago(self, value: datetime | None) -> str:
        """A relative time for lists: "5 min ago", and the date once it is more than a day old."""
        if value is None:
            return ""
        seconds = int((now() - value).total_seconds())
        if seconds < 60:
            return self._("just now")
        if seconds < 3600:
            return self.plural("{n} minute ago", "{n} minutes ago", seconds // 60)
        if seconds < 86400:
            return self.plural("{n} hour ago", "{n} hours ago", seconds // 3600)
        return self.dt(value)

    def until(self, value: datetime | None) -> str:
        """Time left until a deadline ("in 3 h"), or how long ago it passed."""
        if value is None:
            return ""
        seconds = int((value - now()).total_seconds())
        minutes = abs(seconds) // 60
        if minutes < 60:
            amount = self.plural("{n} min", "{n} min", minutes)
        elif minutes < 48 * 60:
            amount = self.plural("{n} h", "{n} h", minutes // 60)
        else:
            amount = self.plural("{n} day", "{n} days", minutes // 1440)
        if seconds >= 0:
            return self._("in {amount}", amount=amount)
        return self._("{amount} overdue", amount=amount)


def render(request: Request, page: Page, name: str, context: dict[str, Any] | None = None,
           *, status_code: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    template = environment().get_template(name)
    values = {"request": request, "page": page, "_": page._, "plural": page.plural,
              "user": None, "section": None, "query": None,
              "htmx": request.headers.get("hx-request") == "true", **(context or {})}
    response = HTMLResponse(template.render(values), status_code=status_code, headers=headers)
    response.headers["Content-Language"] = page.language
    return response
