"""Money as owners read it: Decimal to the fen, rounded half up as 财务 does, never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

FEN = Decimal("0.01")


def to_fen(value) -> Decimal:
    if isinstance(value, float):
        raise TypeError("money must not be a float")
    return Decimal(value).quantize(FEN, rounding=ROUND_HALF_UP)


def yuan(value) -> str:
    """751.8 → "751.80元"; 12345 → "12,345.00元"."""
    return f"{to_fen(value):,.2f}元"
