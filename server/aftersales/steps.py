"""The steps of an after-sales case as the buyer is told them (售后进度): one owner for the text and for
which steps the buyer must act on. The case's service writes the steps; the notify outbox's builder of
`aftersales_update` reads these (a small module, so the outbox imports it without importing the service)."""
from __future__ import annotations

# Steps the buyer has to act on (send the goods back, a refusal to escalate or accept): an SMS when no
# subscribe message reached them.
ACTION_STEPS = ("approved_return", "rejected")
STEP_TEXT = {
    "requested": "已提交，等待商家处理", "auto_approved": "已自动同意，正在退款", "approved": "商家已同意",
    "approved_return": "已同意，请寄回商品", "silence_approved": "商家超时未处理，已自动同意",
    "rejected": "商家拒绝，可申请平台介入", "escalated": "已申请平台介入", "office_approved": "平台裁定：同意",
    "office_rejected": "平台裁定：不予支持", "return_shipped": "退货已寄出", "return_received": "退货已签收",
    "refunding": "退款处理中", "refunded": "退款已到账", "replacement_created": "换货订单已创建",
    "cancelled": "已撤销", "return_overdue": "逾期未寄回，已关闭",
}
