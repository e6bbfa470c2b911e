"""The console's words: services answer in stable error codes (and English for the JSON API); the
console shows each in simplified Chinese. One table, so a page never invents its own wording."""
from __future__ import annotations

import re

from server.kit.errors import AppError

NO_OPERATOR_ROLE = "您的账号没有后台角色（县电商办、县仓、服务站、商户或主播），无法使用运营后台。如需开通，请联系县电商办。"
NEEDS_ROLE = "此页面仅供{}使用。"
CSRF_FAILED = "页面已失效（安全令牌不符），请刷新页面后重试。"
SESSION_REASONS = {
    "expired": "登录已过期，请重新登录。",
    "revoked": "您的账号已被停用或登录已被撤销，请重新登录。",
    "signout": "您已退出登录。",
    "signin": "",
}

ERRORS = {
    "rate_limited": "操作太频繁，请{retry}后再试。",
    "sms_rate_limited": "验证码发送太频繁，请{retry}后再试（每个手机号每分钟 1 条、每天 10 条）。",
    "sms_code_wrong": "验证码不正确。",
    "sms_code_expired": "验证码已过期，请重新获取。",
    "sms_code_locked": "错误次数过多，此验证码已失效，请重新获取。",
    "sms_code_invalid": "没有有效的验证码，请先获取验证码。",
    "no_console_account": "此手机号没有后台账号，请联系县电商办开通。",
    "not_operator": NO_OPERATOR_ROLE,
    "scan_ticket_expired": "二维码已过期，请刷新。",
    "scan_ticket_used": "此二维码已被使用。",
    "invalid_transition": "该记录的状态已经改变（可能已被他人处理），请刷新后查看。",
    "already_reviewed": "该审核已经处理过了（可能是重复点击或他人已处理），请刷新后查看。",
    "shipping_not_waiting": "该发货信息已不需要人工处理（可能是重复点击或他人已处理），请刷新后查看。",
    "stale_object": "该记录在您打开页面后已被他人修改，您这次的修改没有保存。请刷新页面，核对最新内容后再改。",
    "last_admin": "这是最后一个县电商办管理员，不能撤销。",
    "cannot_disable_self": "不能停用自己的账号。",
    "phone_taken": "此手机号已绑定到其他账号。",
    "not_found": "未找到该记录。",
    "upstream_error": "微信或阿里云服务暂时不可用，请稍后再试。",
    "service_unavailable": "服务暂时不可用，请稍后再试。",
    "session_expired": SESSION_REASONS["expired"],
    # payouts (server/payouts)
    "maker_checker": "经办与复核不能是同一人：请由另一位县电商办工作人员审批。",
    "not_pending": "该收款信息变更已处理（或已被新的申请取代），请刷新后查看。",
    "not_prepared": "该打款批次已审批或已驳回，请刷新后查看。",
    "exceeds_balance": "金额超过可提现余额（已结算、未打款的部分），未生成批次。",
    "no_payee": "有收款方尚无生效的收款信息，未生成批次。",
    "payee_method": "有收款方的收款方式与本批次不同，未生成批次。",
    "nothing_due": "没有可打款的收款方。",
    "not_approved": "批次审批通过后才能导出银行文件或导入结果。",
    "not_bank_batch": "这不是银行代发批次。",
    "bad_result_file": "银行结果文件有误，未做任何记录：",
    "transfer_unavailable": "转账到零钱需要微信支付 APIv3。",
    "not_awaiting_confirmation": "这笔款项不在待确认收款状态。",
    "withdrawal_not_pending": "该提现申请已撤回或已进入打款批次，请刷新后查看。",
    # money out (#23): cash hand-over, live consent, statement PDFs
    "handover_decided": "该解缴已处理过（可能是重复点击或他人已处理），请刷新后查看。",
    "consent_decided": "该合作申请已处理过（可能是重复点击或主播已撤回），请刷新后查看。",
    "live_consent_required": "这是其他商户的商品：须先取得该商户的同意（直播合作申请，且直播价、佣金、数量、日期在约定之内），"
                             "或该商品在县电商办的选品池中且直播价、佣金在标准条款之内。",
    # complaints and reports (#26)
    "complaint_resolved": "该投诉已办结，不能再修改（可能是重复点击或他人已处理），请刷新后查看。",
    "complaint_already_acknowledged": "该投诉已受理过了（可能是重复点击或他人已处理），请刷新后查看。",
    "complaint_not_found": "未找到该投诉。",
    "outcome_not_applicable": "该处理结果不适用：本投诉没有涉及相应的商品、商户或订单。",
    "too_many_photos": "照片太多了（每件投诉的照片张数有上限），请删去几张。",
    "pdf_unavailable": "PDF 暂时无法生成（服务器需安装 chromium 与中文字体），请先下载 Excel 版本。",
    # promotions (#28): coupons and festival campaigns
    "campaign_overlap": "与已发布的活动时间重叠：同一时间只能有一个节庆活动，请调整时间或先撤下那个活动。",
    "coupon_sold_out": "这张优惠券已经领完了。",
    "coupon_expired": "优惠券已过期。",
    "coupon_not_started": "优惠券还没到可用时间。",
    # after-sales (#25)
    "aftersales_case_open": "这件商品已有进行中的售后单。",
    "aftersales_nothing_to_return": "商品尚未送达，无需退货。",
    "aftersales_not_offered": "该商户未提供此项售后服务。",
    "aftersales_outside_window": "已超过售后时限。",
    "aftersales_not_yet_overdue": "配送尚未超时，暂不能申请“未收到货”。",
    "unpick_done": "该商品已放回货架（可能是重复点击或他人已处理），请刷新后查看。",
    # pre-sale (#28)
    "presale_offer_overlaps": "该规格已有时间重叠的预售（待审核或已通过），请调整日期。",
    "presale_offer_not_pending": "该预售已审核过（可能是重复点击或他人已处理），请刷新后查看。",
}

# Field messages for forms, by field name (when the service's own message is not for people).
FIELDS = {
    "phone": "请输入 11 位手机号。",
    "code": "请输入 6 位数字验证码。",
    "name": "请输入姓名（1–32 个字）。",
    "reason": "请填写原因（1–200 个字）。",
    "role": "请选择角色。",
    "station_id": "请选择服务站。",
    "merchant_id": "请选择商户。",
    "since": "请输入日期，如 2026-12-01。",
    "until": "请输入日期，如 2026-12-31。",
    "actor_id": "请输入用户编号（数字）。",
    "cursor": "分页参数无效，请回到第一页。",
    "slug": "代码应以小写字母开头，2–32 位小写字母、数字、-、_。",
    "sort": "排序应为整数。",
    "parent_id": "请选择上级。",
}

LABELS = {
    # pre-sale orders (#28)
    "deposit_paid": "已付定金",
    # merchants
    "pending": "待审核", "active": "正常", "rejected": "已驳回", "suspended": "已暂停",
    "household": "农户", "cooperative": "合作社", "enterprise": "企业",
    # reviews
    "listing": "新品上架", "revision": "在售商品修改", "approved": "已通过", "superseded": "已被新提交取代",
    # products
    "draft": "草稿", "on_sale": "在售", "off_shelf": "已下架",
    # queues of the desk
    "merchant_applications": "商户入驻申请", "product_listings": "商品上架审核", "product_revisions": "在售商品修改审核",
    "refunds_waiting": "待审批退款", "shipping_uploads_late": "发货 1 小时后仍未上传发货信息",
    "station_alerts": "服务站锁定告警", "counterfeit_flags": "疑似假冒", "sla_breaches": "配送超时（SLA）",
    "complaints_open": "待受理的投诉举报",  # (#26)
    # refunds waiting for the warehouse to put picked units back (#25)
    "unpicking": "待县仓回架",
}


def label(value: object) -> str:
    return LABELS.get(str(value), str(value))


def _retry(exc: AppError) -> str:
    seconds = (exc.details or {}).get("retry_after", 60) if isinstance(exc.details, dict) else 60
    return f" {seconds} 秒" if seconds < 120 else f" {round(seconds / 60)} 分钟"


def error_message(exc: AppError) -> str:
    """What the console shows for a service's error."""
    text = ERRORS.get(exc.code)
    if text:
        return text.format(retry=_retry(exc))
    if exc.status == 422:
        fields = [d.get("field", "") for d in exc.details or [] if isinstance(d, dict)]
        known = [FIELDS[f] for f in fields if f in FIELDS]
        return known[0] if known else "输入有误：" + exc.message
    return f"操作未完成：{exc.message}"


def field_message(name: str, code: str, message: str, hints: dict[str, str] | None = None) -> str:
    if not message.isascii():
        return message   # already written for people (the console's own checks)
    if hints and name in hints:
        return hints[name]
    m = re.search(r"\((\d+) tries left\)", message)
    if m:
        return f"验证码不正确（还可尝试 {m.group(1)} 次）。"
    if code in ERRORS:
        return ERRORS[code].format(retry="稍后")
    return FIELDS.get(name, "输入有误：" + message)
