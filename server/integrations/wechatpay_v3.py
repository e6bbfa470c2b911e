"""WeChat Pay APIv3 through wechatpayv3 2.0.4 (its synchronous client, run in the vendor pool).

The SDK signs our requests (RSA-SHA256 with the merchant API key) and verifies the signature of 2xx
answers, in either key mode: the WeChat Pay public key (公钥模式, a PUB_KEY_ID_... serial) or platform
certificates (downloaded from /v3/certificates, several kept, picked by the Wechatpay-Serial). What it
leaves to us, and this module does: the notification timestamp window, decrypting the resource with a
distinguishable failure, appid/mchid/state checks, the error codes (PayGatewayError.transient decides
retries), and replay keys (the service checks them in Redis). Two changes to the SDK's Core, both in
_Core: the API base is ours (the simulator in simulator mode) and certificates are not downloaded while
the client is built (the simulator may not be listening yet): the first unknown serial fetches them."""
from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import json
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Callable, Mapping

import requests
from cryptography.hazmat.primitives import serialization
from wechatpayv3 import WeChatPay, WeChatPayType
from wechatpayv3.core import Core
from wechatpayv3.utils import aes_decrypt, load_certificate

from server.integrations.wechatpay import (InvalidNotification, PayGatewayError, PaymentNotice, Prepay,
                                           RefundNotice, RefundResult, Reply, Trade)
from server.kit import clock, pools

log = logging.getLogger("kazuo.wechatpay.v3")
SIG_TYPE = "WECHATPAY2-SHA256-RSA2048"
TRANSFER_NAME_REQUIRED_FEN = 200_000  # from ¥2,000 WeChat wants the payee's real name (encrypted)


@dataclass(frozen=True)
class Transfer:
    """A transfer to a WeChat balance (商家转账). state: ACCEPTED | PROCESSING | WAIT_USER_CONFIRM |
    TRANSFERING | SUCCESS | FAIL | CANCELING | CANCELLED; package_info goes to wx.requestMerchantTransfer."""
    out_bill_no: str
    transfer_bill_no: str
    state: str
    package_info: str = ""
    fail_reason: str = ""
    amount_fen: int = 0


@dataclass(frozen=True)
class TransferNotice:
    out_bill_no: str
    transfer_bill_no: str
    state: str
    amount_fen: int
    fail_reason: str
    replay_key: str = ""


class _Core(Core):
    # An inbound notification with an unknown serial may trigger a certificate download this often at most.
    NOTIFY_REFRESH_SECONDS = 60

    def __init__(self, *, gateway: str, **kw):
        self._lock = threading.Lock()
        self._fetched_at = float("-inf")
        super().__init__(**kw)
        self._gate_way = gateway.rstrip("/")

    def _init_certificates(self):
        # Only what cert_dir holds now; the first unknown serial downloads the rest (_verify_signature).
        if not (self._cert_dir and os.path.isdir(self._cert_dir)):
            return
        now = datetime.now(timezone.utc)
        for name in sorted(os.listdir(self._cert_dir)):
            if name.lower().endswith(".pem"):
                with open(os.path.join(self._cert_dir, name), encoding="utf-8") as f:
                    cert = load_certificate(f.read())
                if cert and cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
                    self._certificates.append(cert)

    def _update_certificates(self):
        # Rotation: the SDK clears its list before downloading; a failed download or a certificate
        # that WeChat stopped listing but that is still valid must not leave us unable to verify.
        with self._lock:
            self._fetched_at = time.monotonic()
            old = list(self._certificates)
            self._certificates = []
            try:
                super()._update_certificates()
            finally:
                now = datetime.now(timezone.utc)
                fresh = {c.serial_number for c in self._certificates}
                self._certificates += [c for c in old if c.serial_number not in fresh
                                       and c.not_valid_after_utc > now]


    def knows(self, serial: str) -> bool:
        return serial == self._public_key_id or any(format(c.serial_number, "X") == serial.upper()
                                                    for c in self._certificates)

    def may_refresh(self) -> bool:
        """Unsigned traffic (a notification naming an unknown serial) must not make us download the
        certificates on every request."""
        return time.monotonic() - self._fetched_at >= self.NOTIFY_REFRESH_SECONDS


class _Pay(WeChatPay):
    """WeChatPay (2.0.4) with our Core: the same attributes its __init__ sets."""

    def __init__(self, *, app_id: str, mch_id: str, core: _Core):
        self._type, self._mchid, self._appid = WeChatPayType.MINIPROG, mch_id, app_id
        self._notify_url, self._partner_mode, self._core = None, False, core


def pkcs8_pem(private_key_pem: str) -> str:
    """The merchant key as PKCS#8 PEM (the SDK wraps bare text in PKCS#8 markers; PKCS#1 files break)."""
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


class WeChatPayV3Gateway:
    version = "v3"

    def __init__(self, *, app_id: str, mch_id: str, private_key_pem: str, cert_serial: str, apiv3_key: str,
                 api_base: str, public_key_pem: str = "", public_key_id: str = "", cert_dir: str = "",
                 timeout: float = 8.0, max_skew_seconds: int = 300):
        self.app_id, self.mch_id = app_id, mch_id
        self.apiv3_key, self.timeout, self.max_skew = apiv3_key, timeout, max_skew_seconds
        self.key_mode = "public_key" if public_key_pem else "platform_cert"
        self.core = _Core(gateway=api_base, mchid=mch_id, cert_serial_no=cert_serial,
                          private_key=pkcs8_pem(private_key_pem), apiv3_key=apiv3_key,
                          cert_dir=cert_dir or None, timeout=(3, timeout), logger=None,
                          public_key=public_key_pem or None, public_key_id=public_key_id or None)
        self.client = _Pay(app_id=app_id, mch_id=mch_id, core=self.core)

    # ---- calls ---------------------------------------------------------------------------------
    async def _raw(self, fn: Callable, *args, **kwargs) -> tuple[int, Any]:
        try:
            return await pools.vendor_call("wechatpay", fn, *args, deadline=self.timeout + 2, **kwargs)
        except (asyncio.TimeoutError, requests.RequestException) as exc:
            log.warning("wechat pay v3 unreachable: %r", exc)
            raise PayGatewayError("WeChat Pay is unreachable", err_code="NETWORK") from None
        except Exception as exc:  # noqa: BLE001 - the SDK raises bare Exception
            if "verify the signature" in str(exc):
                raise PayGatewayError("WeChat Pay answer signature mismatch", err_code="SIGN_MISMATCH") from None
            log.exception("wechat pay v3 call failed")
            raise PayGatewayError(f"WeChat Pay call failed: {exc}", err_code="SDK_ERROR") from None

    async def _call(self, fn: Callable, *args, **kwargs) -> dict:
        code, text = await self._raw(fn, *args, **kwargs)
        try:
            data = json.loads(text) if text else {}
        except (TypeError, ValueError):
            data = None
        if 200 <= code < 300:
            if not isinstance(data, dict):
                raise PayGatewayError("WeChat Pay answered something that is not JSON", err_code="BAD_RESPONSE")
            for field, ours in (("appid", self.app_id), ("mchid", self.mch_id), ("mch_id", self.mch_id)):
                if data.get(field, ours) != ours:
                    raise PayGatewayError("WeChat Pay answered for another merchant", err_code="APPID_MISMATCH")
            return data
        data = data if isinstance(data, dict) else {}
        err_code = str(data.get("code") or ("HTTP_5XX" if code >= 500 else f"HTTP_{code}"))
        raise PayGatewayError(f"WeChat Pay refused: {data.get('message') or code}", err_code=err_code)

    async def prepay(self, *, trade_type: str, description: str, out_trade_no: str, amount_fen: int,
                     notify_url: str, client_ip: str, time_expire: datetime, openid: str | None = None,
                     product_id: str | None = None) -> Prepay:
        """JSAPI (prepay_id) or NATIVE (code_url; v3 gives no prepay_id, the code's token stands in)."""
        pay_type = WeChatPayType.NATIVE if trade_type == "NATIVE" else WeChatPayType.JSAPI
        resp = await self._call(
            self.client.pay, description=description[:127], out_trade_no=out_trade_no,
            amount={"total": amount_fen, "currency": "CNY"}, payer={"openid": openid} if openid else None,
            time_expire=time_expire.astimezone(clock.SHANGHAI).isoformat(timespec="seconds"),
            notify_url=notify_url, scene_info={"payer_client_ip": client_ip or "127.0.0.1"}, pay_type=pay_type)
        code_url = str(resp.get("code_url") or "")
        prepay_id = str(resp.get("prepay_id") or (code_url.rsplit("pr=", 1)[-1][:64] if code_url else ""))
        return Prepay(prepay_id=prepay_id, code_url=code_url)

    def request_payment_params(self, prepay_id: str) -> dict:
        """wx.requestPayment: paySign = RSA-SHA256 over appId, timeStamp, nonceStr, package (signType RSA)."""
        ts, nonce, package = str(int(clock.now().timestamp())), secrets.token_hex(16), f"prepay_id={prepay_id}"
        return {"appId": self.app_id, "timeStamp": ts, "nonceStr": nonce, "package": package, "signType": "RSA",
                "paySign": self.client.sign([self.app_id, ts, nonce, package])}

    async def query(self, out_trade_no: str) -> Trade:
        resp = await self._call(self.client.query, out_trade_no=out_trade_no)
        return Trade(state=str(resp.get("trade_state") or ""), transaction_id=str(resp.get("transaction_id") or ""),
                     amount_fen=int((resp.get("amount") or {}).get("total") or 0))

    async def close(self, out_trade_no: str) -> None:
        await self._call(self.client.close, out_trade_no)

    @staticmethod
    def _refund(resp: dict) -> RefundResult:
        status = str(resp.get("status") or resp.get("refund_status") or "")
        return RefundResult(refund_id=str(resp.get("refund_id") or ""), status=status, wechat_status=status,
                            refund_fen=int((resp.get("amount") or {}).get("refund") or 0))

    async def refund(self, *, out_trade_no: str, out_refund_no: str, total_fen: int, refund_fen: int,
                     notify_url: str) -> RefundResult:
        """申请退款; the same out_refund_no again is answered with the same refund."""
        return self._refund(await self._call(
            self.client.refund, out_refund_no=out_refund_no, out_trade_no=out_trade_no, notify_url=notify_url,
            amount={"refund": refund_fen, "total": total_fen, "currency": "CNY"}))

    async def refund_query(self, out_refund_no: str) -> RefundResult:
        return self._refund(await self._call(self.client.query_refund, out_refund_no))

    async def download_bill(self, bill_date: date) -> str:
        """The day's trade bill (交易账单, ready the next day) as its text, hash checked: the same
        backtick-prefixed CSV as v2's downloadbill (server/reconcile/bill.py reads both)."""
        meta = await self._call(self.client.trade_bill, bill_date.isoformat(), tar_type="GZIP")
        url = str(meta.get("download_url") or "")
        path = url[len(self.core._gate_way):] if url.startswith(self.core._gate_way) else url
        code, content = await self._raw(self.core.request, path, skip_verify=True)
        if code != 200 or not isinstance(content, bytes):
            raise PayGatewayError("the trade bill could not be downloaded", err_code=f"HTTP_{code}")
        if hashlib.sha1(content).hexdigest() != str(meta.get("hash_value", "")).lower():
            raise PayGatewayError("the trade bill does not match its hash", err_code="BAD_RESPONSE")
        return gzip.decompress(content).decode("utf-8")

    # ---- transfers to a WeChat balance --------------------------------------------------------
    @staticmethod
    def _transfer(resp: dict) -> Transfer:
        return Transfer(out_bill_no=str(resp.get("out_bill_no") or ""),
                        transfer_bill_no=str(resp.get("transfer_bill_no") or ""), state=str(resp.get("state") or ""),
                        package_info=str(resp.get("package_info") or ""),
                        fail_reason=str(resp.get("fail_reason") or ""), amount_fen=int(resp.get("transfer_amount") or 0))

    async def transfer(self, *, out_bill_no: str, openid: str, amount_fen: int, remark: str, notify_url: str,
                       scene_id: str, user_name: str | None = None, scene_report: list[dict] | None = None) -> Transfer:
        """商家转账 to the user's WeChat balance; mostly answered WAIT_USER_CONFIRM with the package_info
        the mini-program passes to wx.requestMerchantTransfer. From ¥2,000 the payee's real name is
        required: it travels RSA-OAEP encrypted with the WeChat Pay public key (or newest platform
        certificate) and the key's serial in Wechatpay-Serial."""
        if amount_fen >= TRANSFER_NAME_REQUIRED_FEN and not user_name:
            raise PayGatewayError("from ¥2,000 a transfer needs the payee's real name", err_code="USER_NAME_REQUIRED")
        resp = await self._call(self._transfer_call, out_bill_no, scene_id, openid, amount_fen, remark[:32],
                                user_name, notify_url, scene_report or [])
        return self._transfer({**resp, "transfer_amount": amount_fen})

    def _transfer_call(self, out_bill_no, scene_id, openid, amount_fen, remark, user_name, notify_url, report):
        # The SDK encrypts user_name only from 30 fen; a name given is always encrypted here.
        if user_name and amount_fen < 30:
            raise PayGatewayError("a transfer this small carries no name", err_code="PARAM_ERROR")
        return self.client.mch_transfer_bills(out_bill_no=out_bill_no, transfer_scene_id=scene_id, openid=openid,
                                              transfer_amount=amount_fen, transfer_remark=remark,
                                              user_name=user_name, transfer_scene_report_infos=report,
                                              notify_url=notify_url)

    async def transfer_query(self, out_bill_no: str) -> Transfer:
        return self._transfer(await self._call(self.client.mch_transfer_bills_query, out_bill_no=out_bill_no))

    async def transfer_cancel(self, out_bill_no: str) -> Transfer:
        """撤销转账 before the user confirms (answered CANCELING; the query shows CANCELLED)."""
        return self._transfer(await self._call(self.client.mch_transfer_bills_cancel, out_bill_no))

    # ---- notifications ------------------------------------------------------------------------
    def _open(self, headers: Mapping[str, str], body: bytes) -> tuple[dict, dict, str]:
        """Verify (timestamp window, signature by serial) and decrypt: (envelope, resource, replay key)."""
        h = {k.lower(): v for k, v in headers.items()}
        ts, nonce = h.get("wechatpay-timestamp", ""), h.get("wechatpay-nonce", "")
        sig, serial = h.get("wechatpay-signature", ""), h.get("wechatpay-serial", "")
        if not (ts and nonce and sig and serial):
            raise InvalidNotification("missing Wechatpay-* signature headers", 401)
        try:
            skew = abs(clock.now().timestamp() - int(ts))
        except ValueError:
            raise InvalidNotification("bad Wechatpay-Timestamp", 401) from None
        if skew > self.max_skew:
            raise InvalidNotification("stale Wechatpay-Timestamp", 401)
        if not self.core.knows(serial) and not self.core.may_refresh():
            raise InvalidNotification("unknown Wechatpay-Serial", 401)
        try:
            text = body.decode("utf-8")
            ok = self.core._verify_signature({"Wechatpay-Signature": sig, "Wechatpay-Timestamp": ts,
                                              "Wechatpay-Nonce": nonce, "Wechatpay-Serial": serial,
                                              "Wechatpay-Signature-Type": h.get("wechatpay-signature-type", SIG_TYPE)},
                                             text)
        except requests.RequestException:
            raise  # could not fetch the platform certificates: answered "retry later"
        except Exception:  # noqa: BLE001 - bad serial, algorithm or encoding
            ok = False
        if not ok:
            raise InvalidNotification("bad signature", 401)
        try:
            envelope = json.loads(text)
            res = envelope["resource"]
            plain = decrypt_resource(self.apiv3_key, res["nonce"], res["ciphertext"],
                                     res.get("associated_data") or "") \
                if res.get("algorithm") == "AEAD_AES_256_GCM" else None
        except (ValueError, KeyError, TypeError, AttributeError):  # a malformed envelope
            envelope, plain = {}, None
        if plain is None:
            raise InvalidNotification("undecryptable resource", 400)
        try:
            resource = json.loads(plain)
        except ValueError:
            raise InvalidNotification("the resource is not JSON", 400) from None
        return envelope, resource, f"{envelope.get('id', '')}:{nonce}"

    async def _opened(self, headers, body) -> tuple[dict, dict, str]:
        try:
            return await pools.vendor_call("wechatpay", self._open, headers, body, deadline=self.timeout + 2)
        except (asyncio.TimeoutError, requests.RequestException):
            raise PayGatewayError("platform certificates could not be fetched", err_code="NETWORK") from None

    def _check_merchant(self, resource: dict, *, appid: bool = True) -> None:
        if (resource.get("mchid") or resource.get("mch_id")) != self.mch_id:
            raise InvalidNotification("mchid mismatch")
        if appid and resource.get("appid") != self.app_id:
            raise InvalidNotification("appid mismatch")

    async def parse_payment(self, body: bytes, headers: Mapping[str, str]) -> PaymentNotice:
        envelope, res, replay = await self._opened(headers, body)
        self._check_merchant(res)
        if envelope.get("event_type") != "TRANSACTION.SUCCESS" or res.get("trade_state") != "SUCCESS":
            raise InvalidNotification("payment not successful")
        if not res.get("out_trade_no") or not res.get("transaction_id"):
            raise InvalidNotification("missing out_trade_no or transaction_id")
        try:
            total = int((res.get("amount") or {})["total"])
        except (KeyError, TypeError, ValueError):
            raise InvalidNotification("missing amount.total") from None
        return PaymentNotice(out_trade_no=str(res["out_trade_no"]), transaction_id=str(res["transaction_id"]),
                             amount_fen=total, replay_key=replay)

    async def parse_refund(self, body: bytes, headers: Mapping[str, str]) -> RefundNotice:
        envelope, res, replay = await self._opened(headers, body)
        self._check_merchant(res, appid=False)  # refund resources carry no appid
        if not str(envelope.get("event_type", "")).startswith("REFUND.") or not res.get("out_refund_no"):
            raise InvalidNotification("not a refund notification")
        status = str(res.get("refund_status") or "")
        return RefundNotice(out_refund_no=str(res["out_refund_no"]), out_trade_no=str(res.get("out_trade_no") or ""),
                            transaction_id=str(res.get("transaction_id") or ""), refund_id=str(res.get("refund_id") or ""),
                            status=status, wechat_status=status,
                            refund_fen=int((res.get("amount") or {}).get("refund") or 0), replay_key=replay)

    async def parse_transfer(self, body: bytes, headers: Mapping[str, str]) -> TransferNotice:
        envelope, res, replay = await self._opened(headers, body)
        self._check_merchant(res, appid=False)
        if envelope.get("event_type") != "MCHTRANSFER.BILL.FINISHED" or not res.get("out_bill_no"):
            raise InvalidNotification("not a transfer notification")
        return TransferNotice(out_bill_no=str(res["out_bill_no"]), transfer_bill_no=str(res.get("transfer_bill_no") or ""),
                              state=str(res.get("state") or ""), amount_fen=int(res.get("transfer_amount") or 0),
                              fail_reason=str(res.get("fail_reason") or ""), replay_key=replay)

    def reply(self, ok: bool, message: str = "", status: int = 400) -> Reply:
        """v3: 200 {"code": "SUCCESS"}; a refusal 4xx/5xx {"code": "FAIL", "message": ...} (WeChat retries)."""
        if ok:
            return Reply(200, json.dumps({"code": "SUCCESS", "message": "成功"}, ensure_ascii=False),
                         "application/json; charset=utf-8")
        return Reply(status, json.dumps({"code": "FAIL", "message": message[:64] or "失败"}, ensure_ascii=False),
                     "application/json; charset=utf-8")


def decrypt_resource(apiv3_key: str, nonce: str, ciphertext: str, associated_data: str) -> str | None:
    """AEAD_AES_256_GCM as WeChat uses it (key, nonce and associated data as UTF-8): None when it fails."""
    try:
        base64.b64decode(ciphertext, validate=True)
        return aes_decrypt(nonce=nonce, ciphertext=ciphertext, associated_data=associated_data, apiv3_key=apiv3_key)
    except ValueError:  # not base64, a nonce of the wrong size, a key that is not 32 bytes
        return None
