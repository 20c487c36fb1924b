"""Decimal text: one spelling for money and quantities on every side of an export."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


def decimal_text(value: Decimal) -> str:
    """Write a decimal as sent (`4.90` stays `4.90`), never with an exponent or `-0`."""
    text = format(value, "f")
    if value == 0:
        return "0" if "." not in text else text.lstrip("-")
    return text


def parse_decimal(text: str) -> Decimal:
    """Parse a protocol decimal string; refuses floats-as-numbers, NaN and infinities."""
    if not isinstance(text, str):
        raise ValueError(f"expected a decimal string, got {type(text).__name__}")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not a decimal: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite decimal: {text!r}")
    return value
