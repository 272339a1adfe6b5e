"""Encryption at rest for stored credentials (mail passwords, OAuth tokens).

Values are sealed with Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from the
installation's secret key, so a copied database alone does not reveal them.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sellerdesk.core import context


class SecretError(Exception):
    """A stored secret cannot be opened (the secret key changed, or the value was altered)."""


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"sellerdesk.secrets.v1", info=b"fernet"
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(value: str, *, secret_key: str | None = None) -> str:
    key = secret_key or context.get().settings.resolved_secret_key()
    return _fernet(key).encrypt(value.encode()).decode()


def unseal(token: str, *, secret_key: str | None = None) -> str:
    key = secret_key or context.get().settings.resolved_secret_key()
    try:
        return _fernet(key).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretError(
            "a stored secret cannot be decrypted: was SELLERDESK_SECRET_KEY changed?"
        ) from exc
