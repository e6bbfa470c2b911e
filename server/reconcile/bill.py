"""WeChat Pay's trade bill, read into one shape whatever API it came from: the v2 `downloadbill` text
here; the v3 `tradebill` file has the same text, compared by server/reconcile/service.py.

The v2 ALL bill (pay.weixin.qq.com/wiki/doc/api/jsapi.php?chapter=9_6): a header row of column names,
one row per payment (交易状态 SUCCESS) or refund (交易状态 REFUND, with 商户退款单号 and 退款状态),
every value prefixed with a backtick, amounts in yuan with two decimals, then a summary header
(总交易单数,...) and its row. Columns are found by name, so the older and newer column sets both read."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from server.kit import clock


class BillFormatError(ValueError):
    """The text is not a trade bill we can read (the reconciliation stops; nothing is recorded)."""


@dataclass(frozen=True)
class BillRow:
    kind: str          # payment | refund
    ref: str           # out_trade_no (payment) or out_refund_no (refund)
    out_trade_no: str
    amount_fen: int    # the order amount (payment) or the refund asked for (refund)
    status: str        # WeChat's: SUCCESS | REVOKED (payment); SUCCESS | PROCESSING | CHANGE | REFUNDCLOSE (refund)
    at: datetime | None


def _fen(text: str) -> int:
    try:
        value = Decimal(text or "0") * 100
    except InvalidOperation:
        raise BillFormatError(f"not an amount: {text!r}") from None
    if value != value.to_integral_value():
        raise BillFormatError(f"an amount finer than a fen: {text!r}")
    return int(value)


def _cells(line: str) -> list[str]:
    # Every value starts with a backtick: split on ",`" so a comma inside a product name stays put.
    if not line.startswith("`"):
        raise BillFormatError("a bill row whose values are not backtick-prefixed")
    return line[1:].split(",`")


def _time(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=clock.SHANGHAI)
    except ValueError:
        return None


def parse_bill(text: str) -> list[BillRow]:
    """The rows of a trade bill text (v2 downloadbill bill_type ALL, or v3 tradebill ALL); "" (no bill that day) has none."""
    lines = [x for x in text.lstrip("\ufeff").splitlines() if x.strip()]
    if not lines:
        return []
    header = [h.strip() for h in lines[0].split(",")]
    col = {name: i for i, name in enumerate(header)}
    for need in ("交易状态", "商户订单号"):
        if need not in col:
            raise BillFormatError(f"the bill has no {need} column")
    amount_col = next((c for c in ("订单金额", "总金额", "应结订单金额") if c in col), None)
    if amount_col is None:
        raise BillFormatError("the bill has no order amount column")
    rows: list[BillRow] = []
    for line in lines[1:]:
        if line.startswith("总交易单数"):
            break  # the summary rows
        cells = _cells(line)
        if len(cells) < len(header):
            raise BillFormatError(f"a bill row with {len(cells)} values, not {len(header)}")

        def get(name: str) -> str:
            return cells[col[name]].strip() if name in col else ""

        at = _time(get("交易时间"))
        state = get("交易状态")
        if state == "REFUND":
            asked = _fen(get("申请退款金额")) if get("申请退款金额") else 0
            rows.append(BillRow("refund", get("商户退款单号"), get("商户订单号"), asked or _fen(get("退款金额")),
                                get("退款状态"), at))
        else:
            rows.append(BillRow("payment", get("商户订单号"), get("商户订单号"), _fen(get(amount_col)), state, at))
    return rows
