"""Application errors: every error a client sees has a stable code, a sentence and maybe a field."""

from __future__ import annotations

from enum import StrEnum


class AppError(Exception):
    """Base class for errors that reach a client as JSON with a stable code."""

    status_code = 400

    def __init__(
        self,
        code: StrEnum | str,
        message: str,
        *,
        field: str | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = str(code)
        self.message = message
        self.field = field
        if status_code is not None:
            self.status_code = status_code

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "field": self.field}


class NotFound(AppError):
    status_code = 404


class Forbidden(AppError):
    status_code = 403


class Unauthorized(AppError):
    status_code = 401


class Conflict(AppError):
    status_code = 409


class Invalid(AppError):
    status_code = 422


class TooLarge(AppError):
    status_code = 413


class ConfigError(Exception):
    """A setting is missing or wrong; start-up stops with this message."""
