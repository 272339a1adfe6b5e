"""Email accounts: the list, add and edit (secrets never shown back), and "Test connection"."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from sellerdesk.accounts.permissions import Permission
from sellerdesk.api.deps import SessionDep
from sellerdesk.channels.email import actions, probe, queries
from sellerdesk.channels.email.models import EmailAccount
from sellerdesk.core.errors import AppError, Invalid
from sellerdesk.core.i18n import N_
from sellerdesk.core.ids import IdPath
from sellerdesk.web.routes.admin.common import admin_page, error_text, refuse
from sellerdesk.web.session import CurrentUser, WebUser

router = APIRouter()

SECURITY_NAMES = {"ssl": N_("SSL/TLS"), "starttls": N_("STARTTLS"),
                  "none": N_("None (not encrypted)")}
FIELD_NAMES = {
    "address": N_("Address"), "display_name": N_("Sender name"),
    "imap_host": N_("IMAP server"), "imap_port": N_("IMAP port"),
    "imap_security": N_("IMAP security"), "imap_username": N_("IMAP user name"),
    "password": N_("IMAP password"), "imap_folder": N_("Folder to read"),
    "processed_folder": N_("Move read mail to"), "smtp_host": N_("SMTP server"),
    "smtp_port": N_("SMTP port"), "smtp_security": N_("SMTP security"),
    "smtp_username": N_("SMTP user name"), "smtp_password": N_("SMTP password"),
}
_TEXT = ("display_name", "imap_host", "imap_username", "imap_folder", "processed_folder",
         "smtp_host", "smtp_username")
_SECRETS = ("password", "smtp_password")


def _settings(form: dict[str, str]) -> dict[str, Any]:
    """The account's settings from the form; empty secrets are left as they are."""
    values: dict[str, Any] = {name: form.get(name, "").strip() or None for name in _TEXT}
    values["imap_folder"] = values["imap_folder"] or "INBOX"
    for name in ("imap_port", "smtp_port"):
        raw = form.get(name, "").strip()
        if not raw:
            values[name] = None
        elif raw.isascii() and raw.isdigit():
            values[name] = int(raw)
        else:
            raise Invalid(actions.EmailAccountError.INVALID_FIELD, f"{name} must be a number",
                          field=name)
    for name in ("imap_security", "smtp_security"):
        values[name] = form.get(name, "")
    values["is_active"] = form.get("is_active") == "1"
    for name in _SECRETS:
        if form.get(name):
            values[name] = form[name]
    return values


def _form_of(account: EmailAccount) -> dict[str, Any]:
    """What the edit form shows: every setting, never a secret (only whether one is set)."""
    form: dict[str, Any] = {name: getattr(account, name) or "" for name in _TEXT}
    form.update(address=account.address, imap_port=account.imap_port or "",
                smtp_port=account.smtp_port or "", imap_security=account.imap_security,
                smtp_security=account.smtp_security, is_active=account.is_active)
    return form


def _edit(request: Request, user: WebUser, form: dict[str, Any], *,
          account: EmailAccount | None, status_code: int = 200, **context: Any) -> Response:
    return admin_page(request, user, "admin/email_form.html", {
        "form": form, "account": account, "security_names": SECURITY_NAMES,
        "field_names": FIELD_NAMES, **context}, status_code=status_code)


@router.get("/email")
async def email_list(request: Request, db: SessionDep, user: CurrentUser) -> Response:
    user.require(Permission.SETTINGS_MANAGE)
    accounts = await queries.store_accounts(db, store_id=user.store.id)
    return admin_page(request, user, "admin/email.html", {
        "accounts": accounts, "security_names": SECURITY_NAMES,
        "saved": request.query_params.get("saved") == "1"})


@router.get("/email/new")
async def email_new(request: Request, user: CurrentUser) -> Response:
    user.require(Permission.SETTINGS_MANAGE)
    form = dict.fromkeys(_TEXT, "") | {
        "address": "", "imap_port": "", "smtp_port": "", "imap_security": "ssl",
        "smtp_security": "starttls", "imap_folder": "INBOX", "is_active": True}
    return _edit(request, user, form, account=None)


def _failed(request: Request, user: WebUser, exc: AppError, form: dict[str, str],
            account: EmailAccount | None) -> Response:
    shown: dict[str, Any] = {k: v for k, v in form.items() if k not in _SECRETS}
    shown["is_active"] = form.get("is_active") == "1"
    value = form.get("address", "") if exc.field == "address" else ""
    return _edit(request, user, shown, account=account, status_code=exc.status_code,
                 error=error_text(user.page, exc, value=value, field_names=FIELD_NAMES),
                 error_field=exc.field)


@router.post("/email")
async def email_create(request: Request, db: SessionDep, user: CurrentUser) -> Response:
    user.require(Permission.SETTINGS_MANAGE)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        await actions.create_account(db, store_id=user.store.id, address=form.get("address", ""),
                                     actor=user.principal.actor, **_settings(form))
    except AppError as exc:
        refuse(exc)
        return _failed(request, user, exc, form, None)
    return RedirectResponse("/admin/email?saved=1", status_code=303)


@router.get("/email/{account_id}")
async def email_form(request: Request, db: SessionDep, user: CurrentUser,
                     account_id: IdPath) -> Response:
    user.require(Permission.SETTINGS_MANAGE)
    account = await queries.get_account(db, store_id=user.store.id, account_id=account_id)
    return _edit(request, user, _form_of(account), account=account)


@router.post("/email/{account_id}")
async def email_update(request: Request, db: SessionDep, user: CurrentUser,
                       account_id: IdPath) -> Response:
    user.require(Permission.SETTINGS_MANAGE)
    account = await queries.get_account(db, store_id=user.store.id, account_id=account_id)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    form["address"] = account.address
    try:
        await actions.update_account(db, account=account, changes=_settings(form),
                                     actor=user.principal.actor)
    except AppError as exc:
        refuse(exc)  # update_account checks every change before it sets any
        return _failed(request, user, exc, form, account)
    return RedirectResponse("/admin/email?saved=1", status_code=303)


@router.post("/email/{account_id}/test")
async def email_test(request: Request, db: SessionDep, user: CurrentUser,
                     account_id: IdPath) -> Response:
    """Try the account's IMAP and SMTP servers now; nothing is fetched or sent."""
    user.require(Permission.SETTINGS_MANAGE)
    account = await queries.get_account(db, store_id=user.store.id, account_id=account_id)
    result = await probe.probe_account(db, account)
    context = {"account": account, "result": result, "security_names": SECURITY_NAMES}
    if request.headers.get("hx-request") == "true":
        return admin_page(request, user, "admin/email_probe.html", context)
    accounts = await queries.store_accounts(db, store_id=user.store.id)
    return admin_page(request, user, "admin/email.html", {
        "accounts": accounts, "security_names": SECURITY_NAMES, "probed": account.id,
        **context})
