"""WeChat Pay API v2 through wechatpy (MD5 signing). wechatpy is synchronous: every call runs in a
thread. It does not check the signature of API responses, nor appid/mch_id/amount of notifications:
we do (STACK_NOTES.md). In simulator mode the API base points at /__sim__/wechatpay/."""
from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from wechatpy.exceptions import InvalidSignatureException, WeChatPayException
from wechatpy.pay import WeChatPay

from server.kit import clock, pools
from server.kit.errors import AppError

log = logging.getLogger("kazuo.wechatpay")

SUCCESS_XML = ("<xml><return_code><![CDATA[SUCCESS]]></return_code>"
               "<return_msg><![CDATA[OK]]></return_msg></xml>")


def fail_xml(msg: str) -> str:
    safe = msg.replace("]]>", "")[:64]
    return f"<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[{safe}]]></return_msg></xml>"


# Codes under which WeChat Pay's answer may change on a retry (ours: NETWORK, HTTP_5XX, BAD_RESPONSE,
# SIGN_MISMATCH; WeChat's: SYSTEMERROR, FREQUENCY_LIMITED and its v3 equivalents).
TRANSIENT_CODES = frozenset({"NETWORK", "HTTP_5XX", "BAD_RESPONSE", "SIGN_MISMATCH", "SYSTEMERROR",
                             "SYSTEM_ERROR", "FREQUENCY_LIMITED", "FREQUENCY_LIMIT_EXCEED", "BIZERR_NEED_RETRY"})


class PayGatewayError(AppError):
    """WeChat Pay refused (err_code says why) or could not be reached (err_code "NETWORK")."""
    status, code = 502, "wechatpay_error"

    def __init__(self, message: str, err_code: str = ""):
        super().__init__(message, details={"err_code": err_code})
        self.err_code = err_code

    @property
    def transient(self) -> bool:
        """True when the same call may succeed later (network, HTTP 5xx, WeChat's system errors, an empty
        code): retry it; False for WeChat's definitive refusals."""
        return self.err_code in TRANSIENT_CODES or not self.err_code


def _gateway_error(exc: WeChatPayException) -> PayGatewayError:
    """wechatpy raises the same exception for WeChat's refusals and for an HTTP error status (no codes
    then): an HTTP 5xx becomes HTTP_5XX, so it is retried like the network failure it is."""
    status = getattr(exc.response, "status_code", None) if exc.return_code is None else None
    if status is not None and status >= 500:
        return PayGatewayError(f"WeChat Pay answered HTTP {status}", err_code="HTTP_5XX")
    code = exc.errcode or exc.result_code or exc.return_code or ""
    return PayGatewayError(f"WeChat Pay refused: {exc.errmsg or exc.return_msg or code}", err_code=str(code))


class InvalidNotification(Exception):
    """A notification we must not apply: bad signature, wrong appid/mch_id/amount, unknown order."""


class _Pay(WeChatPay):
    def __init__(self, *args, api_base: str, **kw):
        super().__init__(*args, **kw)
        self.API_BASE_URL = api_base  # instance attribute: wechatpy builds every URL from it


class WeChatPayGateway:
    def __init__(self, *, app_id: str, mch_id: str, api_key: str, api_base: str, timeout: float = 5):
        self.app_id, self.mch_id = app_id, mch_id
        self.client = _Pay(app_id, api_key, mch_id, timeout=timeout, api_base=api_base)
        # requests' timeout bounds the connect and each read: a call's whole deadline (its wait for a
        # thread of the WeChat Pay pool included) allows both.
        self.deadline = 2 * timeout + 1

    async def _run(self, fn, *args, deadline: float, **kwargs) -> Any:
        try:
            return await pools.vendor_call(pools.WECHAT_PAY, fn, *args, deadline=deadline, **kwargs)
        except WeChatPayException as exc:
            raise _gateway_error(exc) from None
        except Exception as exc:  # noqa: BLE001 - network failure, the deadline, or garbage
            log.warning("wechat pay unreachable: %r", exc)
            raise PayGatewayError("WeChat Pay is unreachable", err_code="NETWORK") from None

    async def _call(self, fn, *args, **kwargs) -> dict:
        resp = await self._run(fn, *args, deadline=self.deadline, **kwargs)
        if not isinstance(resp, dict):
            raise PayGatewayError("WeChat Pay answered something that is not XML", err_code="BAD_RESPONSE")
        resp = dict(resp)
        if not self.client.check_signature(resp):
            raise PayGatewayError("WeChat Pay response signature mismatch", err_code="SIGN_MISMATCH")
        if resp.get("appid", self.app_id) != self.app_id or resp.get("mch_id", self.mch_id) != self.mch_id:
            raise PayGatewayError("WeChat Pay answered for another merchant", err_code="APPID_MISMATCH")
        return resp

    async def unified_order(self, *, trade_type: str, body: str, out_trade_no: str, total_fee: int,
                            notify_url: str, client_ip: str, time_expire: datetime,
                            openid: str | None = None, product_id: str | None = None) -> dict:
        """统一下单 (JSAPI or NATIVE): the prepay_id (and code_url for NATIVE), signature checked."""
        return await self._call(
            self.client.order.create, trade_type=trade_type, body=body[:128], total_fee=total_fee,
            notify_url=notify_url, client_ip=client_ip or "127.0.0.1", user_id=openid,
            out_trade_no=out_trade_no, time_start=clock.now().astimezone(clock.SHANGHAI),
            time_expire=time_expire.astimezone(clock.SHANGHAI), product_id=product_id)

    async def query(self, out_trade_no: str) -> dict:
        """查询订单: trade_state SUCCESS | NOTPAY | CLOSED | REFUND | USERPAYING | PAYERROR."""
        return await self._call(self.client.order.query, out_trade_no=out_trade_no)

    async def close(self, out_trade_no: str) -> dict:
        """关闭订单 (WeChat refuses within 5 minutes of creation)."""
        return await self._call(self.client.order.close, out_trade_no)

    async def refund(self, *, out_trade_no: str, out_refund_no: str, total_fee: int, refund_fee: int,
                     notify_url: str) -> dict:
        """申请退款; the same out_refund_no again is answered with the same refund (idempotent)."""
        return await self._call(self.client.refund.apply, total_fee=total_fee, refund_fee=refund_fee,
                                out_refund_no=out_refund_no, out_trade_no=out_trade_no,
                                notify_url=notify_url)

    async def refund_query(self, out_refund_no: str) -> dict:
        return await self._call(self.client.refund.query, out_refund_no=out_refund_no)

    async def download_bill(self, bill_date: date) -> str:
        """下载对账单 (bill_type ALL) of one Asia/Shanghai day: WeChat's CSV-like text, "" when the day
        had no trades ("No Bill Exist"). The text is not signed (WeChat signs only its XML answers)."""
        try:
            text = await self._run(self.client.tools.download_bill, bill_date, "ALL", deadline=max(self.deadline, 60))
        except PayGatewayError as exc:
            if "No Bill Exist" in exc.message:
                return ""
            raise
        if not isinstance(text, str):  # an XML answer that is no error: not a bill
            raise PayGatewayError("WeChat Pay answered the bill download with XML", err_code="BAD_RESPONSE")
        return text

    def jsapi_params(self, prepay_id: str) -> dict:
        """wx.requestPayment parameters (timeStamp, nonceStr, package, signType, paySign)."""
        return self.client.jsapi.get_jsapi_params(prepay_id, timestamp=str(int(clock.now().timestamp())))

    def parse_payment(self, xml: str | bytes) -> dict:
        """Verify a payment notification: sign (wechatpy), appid, mch_id and result codes (ours)."""
        try:
            data = self.client.parse_payment_result(xml)
        except InvalidSignatureException:
            raise InvalidNotification("bad signature") from None
        except Exception:  # noqa: BLE001 - unparsable body
            raise InvalidNotification("unreadable notification") from None
        if data.get("appid") != self.app_id:
            raise InvalidNotification("appid mismatch")
        if data.get("mch_id") != self.mch_id:
            raise InvalidNotification("mch_id mismatch")
        if data.get("return_code") != "SUCCESS" or data.get("result_code") != "SUCCESS":
            raise InvalidNotification("payment not successful")
        if not data.get("out_trade_no") or not data.get("transaction_id"):
            raise InvalidNotification("missing out_trade_no or transaction_id")
        return data

    def parse_refund(self, xml: str | bytes) -> dict:
        """Decrypt and check a refund notification (req_info is AES-256-ECB with md5(api key))."""
        try:
            data = self.client.parse_refund_notify_result(xml)
        except Exception:  # noqa: BLE001 - wrong appid/mch_id, bad ciphertext, bad XML
            raise InvalidNotification("undecryptable refund notification") from None
        if not data.get("out_refund_no"):
            raise InvalidNotification("missing out_refund_no")
        return data


def install(settings, rt) -> None:
    """INTEGRATION_HOOKS entry: build the gateway (simulator or real) into runtime extras."""
    base = settings.wechat_pay_api_base or (settings.base_url + "/__sim__/wechatpay/" if settings.simulators_on
                                            else "https://api.mch.weixin.qq.com/")
    rt.extras["wechatpay"] = WeChatPayGateway(app_id=settings.wechat_app_id, mch_id=settings.wechat_mch_id,
                                              api_key=settings.secret("wechat_pay_api_key"),
                                              api_base=base if base.endswith("/") else base + "/")


def gateway() -> WeChatPayGateway:
    from server.kit import runtime

    return runtime.get().extras["wechatpay"]
