"""库存流水 in the console: a SKU's stock journal as its merchant reads it (商户工作台) and as the
county warehouse and the office do (县仓作业台 → 库存): every change of sellable stock, of units held
by orders and of a live tie-in's quota, why and what caused it, newest first. The pages are in
merchant_desk.py and warehouse.py; what they share is here."""
from __future__ import annotations

from sanic import HTTPResponse

from server.console_web.web import Ctx, next_url
from server.fulfillment.schemas import StockOut
from server.inventory.schemas import StockMovesPage

PAGE = 50
# server.models.inventory.StockReason, as the people who run the stock say it
REASONS = {"checkout": "下单占用", "cancel": "未付款取消，释放占用", "refund": "退款，释放占用",
           "task_cancel": "出库任务取消，释放占用", "task_shrink": "退款件移出拣货任务", "unpack": "拆包，退回可售",
           "ship": "出库发货", "return": "退货入库", "inbound": "集采入库", "create": "新建规格",
           "adjust": "手工调整", "to_live": "划入直播配额", "from_live": "直播配额退回货架",
           "live_sale": "直播成交", "live_cancel": "直播订单取消，退回配额", "collection": "揽收入库",
           "unpick": "已拣退款件回架"}
REFS = {"order_line": "订单行", "refund": "退款", "fulfillment_task": "出库任务", "parcel": "包裹",
        "inbound_line": "入库单行", "live_tiein": "直播挂车", "batch": "批次召回", "sku": "规格"}


def render(ctx: Ctx, sku: StockOut, moves: StockMovesPage, back_href: str, back_label: str,
           layout: str = "base.html") -> HTTPResponse:
    """layout: the desk's own (the merchant's, phone first: mer_base.html), else the console's."""
    return ctx.render("stock_moves.html", layout=layout, sku=sku, moves=moves.items, reasons=REASONS, refs=REFS,
                      back_href=back_href, back_label=back_label,
                      next_href=next_url(moves.next_cursor, ctx.request))
