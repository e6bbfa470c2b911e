"""Money is integer fen (分) everywhere; rates are basis points (1 bp = 0.01%)."""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field

MAX_FEN = 100_000_000_00  # 100 million yuan: anything above is a typo, not a price
Fen = Annotated[int, Field(ge=0, le=MAX_FEN, description="amount in fen (1/100 yuan)")]
PositiveFen = Annotated[int, Field(ge=1, le=MAX_FEN, description="amount in fen (1/100 yuan), at least 1")]
BasisPoints = Annotated[int, Field(ge=0, le=10_000, description="rate in basis points (1/10000)")]


def apply_rate(amount_fen: int, rate_bp: int) -> int:
    """A share of an amount at a basis-point rate, rounded half up to the fen."""
    return (amount_fen * rate_bp + 5_000) // 10_000


def yuan(amount_fen: int) -> str:
    sign = "-" if amount_fen < 0 else ""
    a = abs(amount_fen)
    return f"{sign}{a // 100}.{a % 100:02d}"


def fen_of_yuan(text: str) -> int | None:
    """An amount typed or filed in yuan ('1,234.50', '28', '28.5') as fen; None when it is not a finite
    number with at most 2 decimals. The sign and the range are the caller's to check."""
    try:
        d = Decimal(text.replace(",", "").replace("，", "").strip())
        if not d.is_finite() or d != d.quantize(Decimal("0.01")):
            return None
    except ArithmeticError:  # not a number, or too long for an amount (InvalidOperation)
        return None
    return int(d * 100)
