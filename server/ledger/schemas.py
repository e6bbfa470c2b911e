"""What the ledger answers: balances per account (fen)."""
from __future__ import annotations

from pydantic import Field

from server.kit.schemas import Out


class BalanceOut(Out):
    account_type: str
    account_id: int | None = Field(description="null for the platform account")
    balance_fen: int


class BalancesOut(Out):
    items: list[BalanceOut]


class MerchantBalanceOut(Out):
    merchant_id: int
    balance_fen: int


class MerchantBalancesOut(Out):
    items: list[MerchantBalanceOut]
