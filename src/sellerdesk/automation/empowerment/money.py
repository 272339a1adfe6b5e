"""Amounts as integers in a currency's minor units; Decimal at the edges, never float."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sellerdesk.core.errors import Invalid

# ISO 4217 codes a seller is likely to refund in, with their number of decimal places.
CURRENCIES: dict[str, int] = {
    "EUR": 2, "USD": 2, "GBP": 2, "PLN": 2, "CZK": 2, "HUF": 2, "SEK": 2, "NOK": 2,
    "DKK": 2, "CHF": 2, "RON": 2, "BGN": 2, "CAD": 2, "AUD": 2, "NZD": 2, "MXN": 2,
    "BRL": 2, "CNY": 2, "HKD": 2, "SGD": 2, "TWD": 2, "INR": 2, "TRY": 2, "UAH": 2,
    "KRW": 0, "JPY": 0, "ISK": 0, "CLP": 0, "VND": 0,
}
MAX_MINOR = 10**15  # far above any refund, far below a 64-bit integer


def check_currency(code: str, *, code_enum: str, field: str) -> str:
    value = code.strip().upper()
    if value not in CURRENCIES:
        raise Invalid(code_enum, f"{code[:10]!r} is not a supported ISO 4217 currency "
                      f"(use one of {', '.join(sorted(CURRENCIES))})", field=field)
    return value


def to_minor(amount: Decimal, currency: str, *, code: str, field: str,
             allow_zero: bool = False) -> int:
    """Decimal → minor units; refuses negative, non-finite and too precise amounts."""
    places = CURRENCIES[currency]
    try:
        if not amount.is_finite():
            raise InvalidOperation
        scaled = amount.scaleb(places)
        if scaled != scaled.to_integral_value():
            raise Invalid(code, f"{currency} amounts have at most {places} decimal places",
                          field=field)
        minor = int(scaled)
    except InvalidOperation:
        raise Invalid(code, "the amount is not a number", field=field) from None
    if minor < 0 or (minor == 0 and not allow_zero):
        raise Invalid(code, "the amount must be more than zero" if not allow_zero
                      else "the amount must not be negative", field=field)
    if minor > MAX_MINOR:
        raise Invalid(code, "the amount is too large", field=field)
    return minor


def from_minor(minor: int, currency: str) -> Decimal:
    places = CURRENCIES.get(currency, 2)
    return Decimal(minor).scaleb(-places).quantize(Decimal(1).scaleb(-places))


def show(minor: int, currency: str) -> str:
    """'30.00 EUR' for messages."""
    return f"{from_minor(minor, currency)} {currency}"
