"""Signing in through the real forms, and reading what the pages say."""

from __future__ import annotations

import re

import httpx

PASSWORD = "correct horse battery"  # noqa: S105 (a test password)

_HIDDEN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_HEADER_CSRF = re.compile(r'"X-CSRF-Token": "([^"]+)"')


def csrf_of(html: str) -> str:
    found = _HIDDEN_CSRF.search(html) or _HEADER_CSRF.search(html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    """Sign in like a browser; returns the CSRF token of the new session."""
    form = await client.get("/login")
    response = await client.post("/login", data={
        "email": email, "password": password, "csrf_token": csrf_of(form.text)})
    assert response.status_code == 303, response.text
    page = await client.get("/profile")
    assert page.status_code == 200
    return csrf_of(page.text)
