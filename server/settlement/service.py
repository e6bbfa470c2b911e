"""The settlement run (结算): per period (weekly by default, in Asia/Shanghai), a statement for every
merchant, station and livestreamer with settleable ledger entries.

An order line's entries are settleable once its order completed KAZUO_SETTLEMENT_HOLD_DAYS days before
the period's end and while no refund is open on it (requested, approved, processing); entries posted
after the period's end wait for the next one. A refund that succeeds after the line was settled posts
reversals (server/ledger) that are not settled yet: they come onto the next statement as a negative
line. Cash-custody entries are not settled here (the station cash hand-over, server/cash, clears them
when the county centre confirms the cash).

Exactly once, whatever runs race: a statement is unique per payee and period and is created with its
lines and its SettledEntry rows (unique per ledger entry) in one transaction; a run that loses a race
rolls back that payee and counts the statement as existing."""
from __future__ import annotations

import io
import logging
from collections import defaultdict
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal

from openpyxl import Workbook
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q, Subquery

from server.kit import audit, clock, runtime, sheets
from server.kit.auth import Principal
from server.kit.db import atomic, id_page
from server.kit.errors import NotFound, ValidationFailed
from server.models.ledger import LedgerEntry, RefKind
from server.models.orders import Order, OrderLine
from server.models.payments import Refund, RefundStatus
from server.models.settlement import SettledEntry, Statement, StatementLine
from server.kit.schemas import Page
from server.settlement.schemas import SettleOut, StatementDetailOut, StatementLineOut, StatementOut, StatementsQuery

log = logging.getLogger("kazuo.settlement")

PAYEES = ("merchant", "station", "livestreamer")
SETTLED_KINDS = ("merchant_share", "station_fee", "live_commission", "shipping")  # and their _reversal
ACCOUNT_TITLES = {"merchant": "商户", "station": "服务站", "livestreamer": "主播"}


def period_length() -> timedelta:
    return timedelta(days=7 if runtime.settings().settlement_period == "weekly" else 1)


def is_boundary(t: datetime) -> bool:
    """Whether t is a period boundary: local midnight (Asia/Shanghai), a Monday for weekly periods."""
    local = t.astimezone(clock.SHANGHAI)
    if local.time() != time(0):
        return False
    return runtime.settings().settlement_period != "weekly" or local.weekday() == 0


def last_period_end(now: datetime | None = None) -> datetime:
    """The end of the latest period that has ended by now."""
    local = (now or clock.now()).astimezone(clock.SHANGHAI)
    midnight = datetime.combine(local.date(), time(0), tzinfo=clock.SHANGHAI)
    if runtime.settings().settlement_period == "weekly":
        midnight -= timedelta(days=midnight.weekday())
    return midnight.astimezone(timezone.utc)


def parse_period_end(text: str) -> datetime:
    """A period end given as a date (YYYY-MM-DD): that day's 00:00 in Asia/Shanghai."""
    try:
        day = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise ValueError("give a date as YYYY-MM-DD") from None
    return datetime.combine(day, time(0), tzinfo=clock.SHANGHAI).astimezone(timezone.utc)


def _check_period_end(period_end: datetime) -> None:
    if not is_boundary(period_end):
        raise ValidationFailed.field("period_end", "not a period boundary (Asia/Shanghai midnight"
                                     + (", a Monday)" if runtime.settings().settlement_period == "weekly" else ")"))
    if period_end > clock.now():
        raise ValidationFailed.field("period_end", "the period has not ended yet")


async def _settleable(period_end: datetime) -> dict[tuple[str, int], dict[int, list[LedgerEntry]]]:
    """{(account_type, account_id): {order_line_id: [entries]}} settleable at period_end."""
    hold = timedelta(days=runtime.settings().settlement_hold_days)
    kinds = list(SETTLED_KINDS) + [k + "_reversal" for k in SETTLED_KINDS]
    entries = await (LedgerEntry.filter(ref_kind=RefKind.ORDER_LINE, account_type__in=PAYEES, kind__in=kinds,
                                        account_id__not_isnull=True, created_at__lt=period_end,
                                        order__completed_at__lte=period_end - hold)
                     .exclude(id__in=Subquery(SettledEntry.all().values("ledger_entry_id"))).order_by("id"))
    order_ids = {e.order_id for e in entries}
    blocked: set[int] = set()
    for r in await Refund.filter(order_id__in=order_ids, kind="order", status__in=RefundStatus.OPEN).values("lines"):
        blocked.update(item["line_id"] for item in r["lines"])
    out: dict[tuple[str, int], dict[int, list[LedgerEntry]]] = defaultdict(lambda: defaultdict(list))
    for e in entries:
        if e.order_line_id not in blocked:
            out[(e.account_type, e.account_id)][e.order_line_id].append(e)
    return out


async def _issue(account: tuple[str, int], by_line: dict[int, list[LedgerEntry]], start: datetime,
                 end: datetime) -> int | None:
    """Create one payee's statement with its lines (None when it exists already: another run made it)."""
    ids = list(by_line)
    lines = {x["id"]: x for x in await OrderLine.filter(id__in=ids).values("id", "order_id", "product_name")}
    orders = {x["id"]: x for x in await Order.filter(id__in={x["order_id"] for x in lines.values()})
              .values("id", "order_no", "completed_at")}
    try:
        async with atomic() as conn:
            st = await Statement.create(account_type=account[0], account_id=account[1], period_start=start,
                                        period_end=end, using_db=conn)
            rows, settled, sales, reversals = [], [], 0, 0
            for line_id in sorted(ids):
                es = by_line[line_id]
                s = sum(e.amount_fen for e in es if not e.kind.endswith("_reversal"))
                r = sum(e.amount_fen for e in es if e.kind.endswith("_reversal"))
                order = orders[lines[line_id]["order_id"]]
                rows.append(StatementLine(statement_id=st.id, order_id=order["id"], order_line_id=line_id,
                                          order_no=order["order_no"], product_name=lines[line_id]["product_name"],
                                          completed_at=order["completed_at"], sales_fen=s, reversals_fen=r,
                                          amount_fen=s + r, entry_ids=[e.id for e in es]))
                settled += [SettledEntry(ledger_entry_id=e.id, statement_id=st.id) for e in es]
                sales, reversals = sales + s, reversals + r
            await StatementLine.bulk_create(rows, using_db=conn)
            await SettledEntry.bulk_create(settled, using_db=conn)
            await Statement.filter(id=st.id).using_db(conn).update(
                total_fen=sales + reversals, sales_fen=sales, reversals_fen=reversals, line_count=len(rows))
    except IntegrityError:
        # Lost a race: the same payee and period (unique statement) or the same entries (unique
        # settled entry) were settled by a run that committed first. Nothing of ours was written.
        log.info("settlement: statement already made by another run", extra={"account": account})
        return None
    return st.id


async def run(period_end: datetime | None = None, *, actor_id: int | None = None) -> SettleOut:
    """Settle the period ending at period_end (default: the last ended): idempotent and race-safe.
    A run asked for by a person (actor_id) is audited."""
    # In UTC: SQLite compares stored times as text, so every boundary is written and compared in one zone.
    end = (period_end or last_period_end()).astimezone(timezone.utc)
    _check_period_end(end)
    start = end - period_length()
    created = existing = lines = total = 0
    for account, by_line in sorted((await _settleable(end)).items()):
        if await Statement.filter(account_type=account[0], account_id=account[1], period_start=start).exists():
            existing += 1  # its entries wait for the next period
            continue
        sid = await _issue(account, by_line, start, end)
        if sid is None:
            existing += 1
            continue
        st = await Statement.get(id=sid)
        created, lines, total = created + 1, lines + st.line_count, total + st.total_fen
    out = SettleOut(period_start=start, period_end=end, statements_created=created, statements_existing=existing,
                    lines=lines, total_fen=total)
    log.info("settlement run", extra={"period_end": end.isoformat(), "statements_made": created,
                                      "statements_existing": existing})
    if actor_id is not None:
        await audit.record(actor_id, "settlement.run", "settlement_period", end.isoformat(), out.model_dump(mode="json"))
    return out


def _scope(principal: Principal):
    """The statements a principal may see: the office all; a payee its own (merchant members their
    merchants', station staff their stations', a livestreamer theirs)."""
    qs = Statement.all()
    if principal.is_admin:
        return qs
    cond = Q(id=-1)
    if principal.merchant_ids:
        cond |= Q(account_type="merchant", account_id__in=list(principal.merchant_ids))
    if principal.station_ids:
        cond |= Q(account_type="station", account_id__in=list(principal.station_ids))
    if principal.has("livestreamer"):
        cond |= Q(account_type="livestreamer", account_id=principal.user_id)
    return qs.filter(cond)


def statements_query(principal: Principal, query: StatementsQuery):
    """The statements visible to the principal that the query's filters keep (payee, period end)."""
    qs = _scope(principal)
    if query.account_type:
        qs = qs.filter(account_type=query.account_type)
    if query.account_id is not None:
        qs = qs.filter(account_id=query.account_id)
    if query.period_end is not None:
        qs = qs.filter(period_end=query.period_end.astimezone(timezone.utc))
    return qs


async def list_statements(principal: Principal, query: StatementsQuery) -> Page[StatementOut]:
    """Statements visible to the principal, newest first (filters: payee, period end)."""
    rows, next_cursor = await id_page(statements_query(principal, query), query.cursor, query.limit,
                                      newest_first=True)
    return Page[StatementOut](items=[StatementOut.model_validate(r) for r in rows], next_cursor=next_cursor)


async def get_statement(principal: Principal, statement_id: int) -> StatementDetailOut:
    """One statement with its lines; 404 outside the principal's scope."""
    st = await _scope(principal).filter(id=statement_id).first()
    if st is None:
        raise NotFound("statement not found")
    lines = await StatementLine.filter(statement_id=st.id).order_by("id")
    return StatementDetailOut(**StatementOut.model_validate(st).model_dump(),
                              lines=[StatementLineOut.model_validate(x) for x in lines])


def _yuan(fen: int) -> Decimal:
    """A number cell in yuan (a negative amount stays a number; kit.sheets only rewrites text)."""
    return Decimal(fen).scaleb(-2)


def _local(t: datetime | None) -> str:
    return t.astimezone(clock.SHANGHAI).strftime("%Y-%m-%d %H:%M") if t else ""


async def statement_xlsx(principal: Principal, statement_id: int) -> tuple[str, bytes]:
    """(file name, xlsx bytes) of one statement (cells neutralised by kit.sheets)."""
    st = await get_statement(principal, statement_id)
    wb = Workbook()
    ws = wb.active
    ws.title = "结算单"
    ws.append(sheets.row([f"结算单 #{st.id}", f"{ACCOUNT_TITLES[st.account_type]} #{st.account_id}",
                          f"{_local(st.period_start)} ~ {_local(st.period_end)} (北京时间)"]))
    ws.append(sheets.row(["订单号", "订单行", "商品", "完成时间", "销售分成(元)", "退款冲回(元)", "结算金额(元)",
                          "台账条目"]))
    for x in st.lines:
        ws.append(sheets.row([x.order_no, x.order_line_id, x.product_name, _local(x.completed_at),
                              _yuan(x.sales_fen), _yuan(x.reversals_fen), _yuan(x.amount_fen),
                              " ".join(str(i) for i in x.entry_ids)]))
    ws.append(sheets.row(["合计", "", "", "", _yuan(st.sales_fen), _yuan(st.reversals_fen), _yuan(st.total_fen), ""]))
    buf = io.BytesIO()
    wb.save(buf)
    return f"statement-{st.id}.xlsx", buf.getvalue()
