"""WeChat Pay: the gateway interface both API versions implement (`PayGateway`), the one error type
and its retry rule, and the API v2 implementation through wechatpy (MD5 signing).

wechatpy is synchronous: every call runs in a thread. It does not check the signature of API
responses, nor appid/mch_id/amount of notifications: we do (STACK_NOTES.md). In simulator mode the API
base points at /__sim__/wechatpay/. v2 refunds (/secapi/) present the merchant API certificate
(two-way TLS). APIv3 lives in wechatpay_v3.py; wechatpay_gateway.py picks one per deployment."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Mapping, Protocol

import requests
from wechatpy.exceptions import InvalidSignatureException, WeChatPayException
from wechatpy.pay import WeChatPay

from server.kit import clock, pools
from server.kit.errors import AppError
from server.integrations.errors import IntegrationCode

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
    status, code = 502, IntegrationCode.WECHATPAY_ERROR

    def __init__(self, message: str, err_code: str = ""):
        super().__init__(message, details={"err_code": err_code})
        self.err_code = err_code

    @property
    def transient(self) -> bool:
        """True when the same call may succeed later (network, HTTP 5xx, WeChat's system errors, an empty
        code): retry it; False for WeChat's definitive refusals."""
        return self.err_code in TRANSIENT_CODES or not self.err_code

    @property
    def order_not_found(self) -> bool:
        return self.err_code in NOT_FOUND_CODES

    @property
    def order_paid(self) -> bool:
        return self.err_code in PAID_CODES

    @property
    def order_closed(self) -> bool:
        return self.err_code in CLOSED_CODES


# WeChat's codes (v2 | v3) for: no such order, the order is paid, the order is closed.
NOT_FOUND_CODES = frozenset({"ORDERNOTEXIST", "ORDER_NOT_EXIST", "RESOURCE_NOT_EXISTS", "NOT_FOUND"})
PAID_CODES = frozenset({"ORDERPAID", "ORDER_PAID"})
CLOSED_CODES = frozenset({"ORDERCLOSED", "ORDER_CLOSED"})


def _gateway_error(exc: WeChatPayException) -> PayGatewayError:
    """wechatpy raises the same exception for WeChat's refusals and for an HTTP error status (no codes
    then): an HTTP 5xx becomes HTTP_5XX, so it is retried like the network failure it is."""
    status = getattr(exc.response, "status_code", None) if exc.return_code is None else None
    if status is not None and status >= 500:
        return PayGatewayError(f"WeChat Pay answered HTTP {status}", err_code="HTTP_5XX")
    code = exc.errcode or exc.result_code or exc.return_code or ""
    return PayGatewayError(f"WeChat Pay refused: {exc.errmsg or exc.return_msg or code}", err_code=str(code))


class InvalidNotification(Exception):
    """A notification we must not apply: bad signature, wrong appid/mch_id/amount, unknown order.
    `status` is the HTTP status a v3 answer carries (v2 answers 200 with FAIL XML)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


# ---- the interface both API versions implement (plain values, the same for v2 and v3) ---------------
@dataclass(frozen=True)
class Prepay:
    prepay_id: str
    code_url: str = ""


@dataclass(frozen=True)
class Trade:
    """An order at WeChat: state SUCCESS | NOTPAY | CLOSED | REFUND | USERPAYING | PAYERROR (| REVOKED)."""
    state: str
    transaction_id: str = ""
    amount_fen: int = 0


@dataclass(frozen=True)
class RefundResult:
    """status: SUCCESS | PROCESSING | CLOSED | ABNORMAL (v2's REFUNDCLOSE/CHANGE mapped); wechat_status as sent."""
    refund_id: str
    status: str
    refund_fen: int = 0
    wechat_status: str = ""


@dataclass(frozen=True)
class PaymentNotice:
    out_trade_no: str
    transaction_id: str
    amount_fen: int
    # Replay protection key (v3: the signed nonce and the notification id); "" when the version has none.
    replay_key: str = ""


@dataclass(frozen=True)
class RefundNotice:
    out_refund_no: str
    out_trade_no: str
    transaction_id: str
    refund_id: str
    status: str          # normalised like RefundResult.status
    wechat_status: str
    refund_fen: int
    replay_key: str = ""


@dataclass(frozen=True)
class Reply:
    """What the notify endpoint answers WeChat."""
    status: int
    body: str
    content_type: str


V2_STATUS = {"REFUNDCLOSE": "CLOSED", "CHANGE": "ABNORMAL"}


class PayGateway(Protocol):
    """One WeChat Pay API version. Every call raises PayGatewayError (err_code set) when WeChat refuses
    or cannot be reached; parse_* raise InvalidNotification."""
    version: str
    app_id: str
    mch_id: str

    async def prepay(self, *, trade_type: str, description: str, out_trade_no: str, amount_fen: int,
                     notify_url: str, client_ip: str, time_expire: datetime, openid: str | None = None,
                     product_id: str | None = None) -> Prepay: ...

    def request_payment_params(self, prepay_id: str) -> dict: ...

    async def query(self, out_trade_no: str) -> Trade: ...

    async def close(self, out_trade_no: str) -> None: ...

    async def refund(self, *, out_trade_no: str, out_refund_no: str, total_fen: int, refund_fen: int,
                     notify_url: str) -> RefundResult: ...

    async def refund_query(self, out_refund_no: str) -> RefundResult: ...

    async def parse_payment(self, body: bytes, headers: Mapping[str, str]) -> PaymentNotice: ...

    async def parse_refund(self, body: bytes, headers: Mapping[str, str]) -> RefundNotice: ...

    def reply(self, ok: bool, message: str = "", status: int = 400) -> Reply: ...

    async def download_bill(self, bill_date: date) -> str: ...


class _Pay(WeChatPay):
    def __init__(self, *args, api_base: str, secapi_base: str, secapi_verify: str | bool, **kw):
        super().__init__(*args, **kw)
        self.API_BASE_URL = api_base  # instance attribute: wechatpy builds every URL from it
        self.secapi_base, self.secapi_verify = secapi_base, secapi_verify

    def _request(self, method, url_or_endpoint, **kwargs):
        # /secapi/ (refunds) goes where the merchant certificate is asked for; wechatpy adds cert=.
        if url_or_endpoint.startswith("secapi/"):
            kwargs.setdefault("api_base_url", self.secapi_base)
            kwargs.setdefault("verify", self.secapi_verify)
        try:
            return super()._request(method, url_or_endpoint, **kwargs)
        except requests.ConnectionError as exc:
            if isinstance(exc, requests.Timeout):
                raise
            # 'Connection aborted': a kept-alive connection the other end had closed meanwhile. Once
            # more on a fresh connection, at once (not after the refund job's 30 s back-off): these
            # calls are idempotent by their out_trade_no / out_refund_no.
            return super()._request(method, url_or_endpoint, **kwargs)


class WeChatPayGateway:
    """API v2 (wechatpy, MD5). mch_cert/mch_key: PEM paths of the merchant API certificate (refunds)."""
    version = "v2"

    def __init__(self, *, app_id: str, mch_id: str, api_key: str, api_base: str, timeout: float = 5,
                 mch_cert: str | None = None, mch_key: str | None = None, secapi_base: str = "",
                 secapi_verify: str | bool = True):
        self.app_id, self.mch_id = app_id, mch_id
        self.client = _Pay(app_id, api_key, mch_id, timeout=timeout, api_base=api_base, mch_cert=mch_cert,
                           mch_key=mch_key, secapi_base=secapi_base or api_base, secapi_verify=secapi_verify)
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

    async def prepay(self, *, trade_type: str, description: str, out_trade_no: str, amount_fen: int,
                     notify_url: str, client_ip: str, time_expire: datetime, openid: str | None = None,
                     product_id: str | None = None) -> Prepay:
        resp = await self.unified_order(trade_type=trade_type, body=description, out_trade_no=out_trade_no,
                                        total_fee=amount_fen, notify_url=notify_url, client_ip=client_ip,
                                        time_expire=time_expire, openid=openid, product_id=product_id)
        return Prepay(prepay_id=resp.get("prepay_id") or "", code_url=resp.get("code_url") or "")

    async def query(self, out_trade_no: str) -> Trade:
        """查询订单: trade_state SUCCESS | NOTPAY | CLOSED | REFUND | USERPAYING | PAYERROR."""
        resp = await self._call(self.client.order.query, out_trade_no=out_trade_no)
        return Trade(state=str(resp.get("trade_state") or ""), transaction_id=str(resp.get("transaction_id") or ""),
                     amount_fen=int(resp.get("total_fee") or 0))

    async def close(self, out_trade_no: str) -> None:
        """关闭订单 (WeChat refuses within 5 minutes of creation)."""
        await self._call(self.client.order.close, out_trade_no)

    async def refund(self, *, out_trade_no: str, out_refund_no: str, total_fen: int, refund_fen: int,
                     notify_url: str) -> RefundResult:
        """申请退款 over /secapi/ with the merchant certificate; the same out_refund_no again is answered
        with the same refund (idempotent)."""
        resp = await self._call(self.client.refund.apply, total_fee=total_fen, refund_fee=refund_fen,
                                out_refund_no=out_refund_no, out_trade_no=out_trade_no,
                                notify_url=notify_url)
        return RefundResult(refund_id=str(resp.get("refund_id") or ""), status="PROCESSING",
                            refund_fen=int(resp.get("refund_fee") or refund_fen))

    async def refund_query(self, out_refund_no: str) -> RefundResult:
        resp = await self._call(self.client.refund.query, out_refund_no=out_refund_no)
        status = str(resp.get("refund_status_0") or "")
        return RefundResult(refund_id=str(resp.get("refund_id_0") or ""), status=V2_STATUS.get(status, status),
                            refund_fen=int(resp.get("refund_fee_0") or 0), wechat_status=status)

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

    def request_payment_params(self, prepay_id: str) -> dict:
        """wx.requestPayment parameters (timeStamp, nonceStr, package, signType MD5, paySign)."""
        return self.client.jsapi.get_jsapi_params(prepay_id, timestamp=str(int(clock.now().timestamp())))

    async def parse_payment(self, body: bytes, headers: Mapping[str, str]) -> PaymentNotice:
        data = self._parse_payment(body)
        return PaymentNotice(out_trade_no=str(data["out_trade_no"]), transaction_id=str(data["transaction_id"]),
                             amount_fen=int(data["total_fee"]))

    async def parse_refund(self, body: bytes, headers: Mapping[str, str]) -> RefundNotice:
        data = self._parse_refund(body)
        status = str(data.get("refund_status") or "")
        return RefundNotice(out_refund_no=str(data["out_refund_no"]), out_trade_no=str(data.get("out_trade_no", "")),
                            transaction_id=str(data.get("transaction_id", "")),
                            refund_id=str(data.get("refund_id") or ""), status=V2_STATUS.get(status, status),
                            wechat_status=status, refund_fen=int(data.get("refund_fee") or 0))

    def reply(self, ok: bool, message: str = "", status: int = 400) -> Reply:
        """v2 answers every notification with HTTP 200 and SUCCESS/FAIL XML."""
        return Reply(200, SUCCESS_XML if ok else fail_xml(message), "text/xml; charset=utf-8")

    def _parse_payment(self, xml: str | bytes) -> dict:
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

    def _parse_refund(self, xml: str | bytes) -> dict:
        """Decrypt and check a refund notification (req_info is AES-256-ECB with md5(api key))."""
        try:
            data = self.client.parse_refund_notify_result(xml)
        except Exception:  # noqa: BLE001 - wrong appid/mch_id, bad ciphertext, bad XML
            raise InvalidNotification("undecryptable refund notification") from None
        if not data.get("out_refund_no"):
            raise InvalidNotification("missing out_refund_no")
        return data
