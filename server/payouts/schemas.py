from datetime import datetime
from typing import Literal

from pydantic import Field

from server.kit.schemas import Out, QuerySchema, Schema

Payee = Literal["merchant", "station", "livestreamer"]
Method = Literal["wechat", "bank"]
MAX_ID = 2**63 - 1


class PayeeIn(Schema):
    """Payee details to change to: a WeChat openid under our appid, or a bank account (name, account,
    bank, branch). Pending until a second office user approves."""
    account_type: Payee
    account_id: int = Field(ge=1, le=MAX_ID)
    method: Method
    openid: str = Field("", max_length=64, description="wechat: the payee's openid under our appid (the office "
                                                        "enters it; a payee's own request uses the caller's)")
    real_name: str = Field("", max_length=64, description="bank: the account's name; wechat: the real name "
                                                          "WeChat checks on transfers from ¥2,000")
    bank_account: str = Field("", max_length=40)
    bank_name: str = Field("", max_length=64)
    bank_branch: str = Field("", max_length=64)
    note: str = Field("", max_length=200)


class MyPayeeIn(Schema):
    """A payee's own request for its details (wechat: the caller's own openid is used)."""
    account_type: Payee
    account_id: int = Field(ge=1, le=MAX_ID)
    method: Method
    real_name: str = Field("", max_length=64)
    bank_account: str = Field("", max_length=40)
    bank_name: str = Field("", max_length=64)
    bank_branch: str = Field("", max_length=64)


class DecideIn(Schema):
    note: str = Field("", max_length=200)


class PayeeOut(Out):
    """Payee details, masked (openid, account number and name show only their ends)."""
    account_type: str
    account_id: int
    method: str
    openid: str
    real_name: str
    bank_account: str
    bank_name: str
    bank_branch: str
    updated_at: datetime | None = None


class PayeeChangeOut(PayeeOut):
    id: int
    status: str
    requested_by: int
    requested_via: str
    decided_by: int | None
    decided_at: datetime | None
    note: str
    created_at: datetime


class ChangesQuery(QuerySchema):
    status: Literal["pending", "approved", "rejected", "superseded"] | None = "pending"
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(50, ge=1, le=200)


class BalanceOut(Out):
    """A payee's money in fen: settled (on statements), paid out, held by batches in progress, and
    what may still be paid out (settled - paid - held)."""
    account_type: str
    account_id: int
    settled_fen: int
    paid_fen: int
    held_fen: int
    requested_fen: int = 0
    available_fen: int
    payee: PayeeOut | None = None


class BatchItemIn(Schema):
    account_type: Payee
    account_id: int = Field(ge=1, le=MAX_ID)
    amount_fen: int | None = Field(None, ge=1, le=10**12, description="default: the whole available balance "
                                                                    "(with statement_id: at most that statement's total)")
    statement_id: int | None = Field(None, ge=1, le=MAX_ID, description="pay out against this statement of the "
                                                                        "payee's (another payee's is refused)")


class BatchIn(Schema):
    """A payout batch to prepare: the listed payees, or (all_due) every payee paid by this method
    with an available balance."""
    method: Method
    items: list[BatchItemIn] = Field(default_factory=list, max_length=500)
    all_due: bool = False
    request_ids: list[int] = Field(default_factory=list, max_length=500,
                                   description="prepare from these pending withdrawal requests (one line per payee)")
    note: str = Field("", max_length=200)


class LineOut(Out):
    id: int
    batch_id: int
    account_type: str
    account_id: int
    amount_fen: int
    method: str
    payee_name: str
    openid: str
    bank_account: str
    bank_name: str
    bank_branch: str
    status: str
    out_bill_no: str
    wechat_state: str
    fail_reason: str
    submitted_at: datetime | None
    finished_at: datetime | None
    created_at: datetime


class BatchOut(Out):
    id: int
    method: str
    status: str
    prepared_by: int
    decided_by: int | None
    decided_at: datetime | None
    note: str
    total_fen: int
    line_count: int
    exported_at: datetime | None
    result_imported_at: datetime | None
    created_at: datetime


class BatchDetailOut(BatchOut):
    lines: list[LineOut]


class BatchesQuery(QuerySchema):
    status: Literal["prepared", "approved", "rejected", "done"] | None = None
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(50, ge=1, le=200)


class WithdrawalIn(Schema):
    """A payee asks to be paid amount_fen (at most the available balance) to its payee details in force."""
    account_type: Payee
    account_id: int = Field(ge=1, le=MAX_ID)
    amount_fen: int = Field(ge=1, le=10**12)
    note: str = Field("", max_length=200)


class WithdrawalRejectIn(Schema):
    """Why the office refuses a pending request (the payee reads it)."""
    reason: str = Field(min_length=1, max_length=200)


class WithdrawalOut(Out):
    """A withdrawal request; rejected by the office: why; once batched, its payout line's status and why
    it failed (the money is then back in the balance)."""
    id: int
    account_type: str
    account_id: int
    amount_fen: int
    method: str
    status: str
    note: str
    reason: str = Field(description="why the office rejected it (status rejected)")
    batch_id: int | None
    requested_by: int
    created_at: datetime
    closed_at: datetime | None
    line_status: str = ""
    fail_reason: str = ""


class ConfirmParamsOut(Out):
    """What the mini-program passes to wx.requestMerchantTransfer."""
    mchId: str
    appId: str
    package: str
    line_id: int
    amount_fen: int


class ImportResultOut(Out):
    batch_id: int
    rows: int
    succeeded: int
    failed: int
    unchanged: int


class LedgerOverallOut(Out):
    """money in - refunds - payouts - cash confirmed = sum of all balances (fen)."""
    money_in_fen: int
    refunds_fen: int
    payouts_fen: int
    cash_confirmed_fen: int
    balances_fen: int
    difference_fen: int
    holds: bool


class PayeeBalancesOut(Out):
    items: list[BalanceOut]


class PayoutLinesOut(Out):
    items: list[LineOut]


class PayeeChangesOut(Out):
    items: list[PayeeChangeOut]


class WithdrawalsOut(Out):
    items: list[WithdrawalOut]
