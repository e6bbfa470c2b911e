"""WeChat Pay keys and certificates: the AEAD decryption, v2's merchant certificate for /secapi/ (two-way
TLS against the simulator's test CA, generated at test time), and the production start-up refusals."""
import base64
import secrets

import pytest
import requests
from pydantic import SecretStr
from wechatpy.pay import WeChatPay
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from config.settings import ConfigError, load_settings
from server.integrations import wechatpay_gateway
from server.integrations.simulators import wechatpay_tls
from server.integrations.wechatpay import PayGatewayError, _Pay
from server.integrations.wechatpay_v3 import decrypt_resource
from tests.orders.conftest import sim
from tests.orders.test_payments import no_handoff  # noqa: F401 - fixture
from tests.orders.test_wechatpay_v3 import prepaid
from tests.platform.test_config import REAL_IDS


def test_aead_decryption_against_an_independent_vector():
    # WeChat publishes no ciphertext for its example key, so the vector is computed here with
    # cryptography's AESGCM directly (key, nonce and associated data as UTF-8 strings, as WeChat uses).
    key, nonce, ad = "0123456789abcdef0123456789ABCDEF", "a1b2c3d4e5f6", "transaction"
    plain = '{"out_trade_no":"KZ1","amount":{"total":100}}'
    ct = base64.b64encode(AESGCM(key.encode()).encrypt(nonce.encode(), plain.encode(), ad.encode())).decode()
    assert decrypt_resource(key, nonce, ct, ad) == plain
    assert decrypt_resource(key, nonce, ct, "refund") is None          # associated data is authenticated
    assert decrypt_resource("f" * 32, nonce, ct, ad) is None           # another APIv3 key
    assert decrypt_resource(key, nonce, ct[:-4] + "AAAA", ad) is None  # a changed tag
    assert decrypt_resource(key, nonce, "not base64!", ad) is None


# ---- v2: the merchant certificate for /secapi/ ---------------------------------------------------------
@pytest.mark.parametrize("pay_api", ["v2"], indirect=True)
async def test_v2_refunds_need_the_merchant_certificate(client, buyer, station, settings, no_handoff, pay_api):
    order, otn = await prepaid(buyer, station, price=600)
    assert (await client.post(sim("/pay"), json={"out_trade_no": otn})).json()["delivered"]
    pki = wechatpay_tls.ensure_pki(settings.data_dir, settings.wechat_mch_id)
    refund = dict(out_trade_no=otn, total_fen=600, refund_fen=100, notify_url="http://127.0.0.1:9/none")
    without = wechatpay_gateway.build_v2(settings, cert_path="")
    with pytest.raises(PayGatewayError) as e:  # the TLS handshake fails without a client certificate
        await without.refund(out_refund_no="R" + secrets.token_hex(6), **refund)
    assert e.value.err_code == "NETWORK"
    # a certificate from another CA is refused in the handshake too
    ca_key, ca = wechatpay_tls.new_ca("someone else")
    key, cert = wechatpay_tls.issue(ca_key, ca, settings.wechat_mch_id, server=False)
    other_cert, other_key = settings.data_dir / "other.pem", settings.data_dir / "other.key"
    other_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    other_key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    with pytest.raises(PayGatewayError):
        await wechatpay_gateway.build_v2(settings, cert_path=str(other_cert), key_path=str(other_key)).refund(
            out_refund_no="R" + secrets.token_hex(6), **refund)
    # the plain port's /secapi/ (no TLS front) refuses as well
    r = await client.post("/__sim__/wechatpay/secapi/pay/refund", content=b"<xml></xml>")
    assert "FAIL" in r.text and "证书" in r.text
    for gateway in (wechatpay_gateway.build_v2(settings, cert_path=str(pki.client_cert), key_path=str(pki.client_key)),
                    wechatpay_gateway.build_v2(settings, cert_path=str(pki.client_p12))):  # PEM, PKCS#12
        res = await gateway.refund(out_refund_no="R" + secrets.token_hex(6), **refund)
        assert res.refund_id and res.status == "PROCESSING"


# ---- production refuses to start without the chosen version's keys ----------------------------------
def _prod(**kw):
    base = dict(_env_file=None, env="production", database_url="postgres://u@h/db", redis_url="redis://h",
                wechat_pay_api_version="v3",
                jwt_secret="j" * 40, wechat_app_secret="s", aliyun_access_key_secret="a",
                # what production needs besides the payment keys (tests/platform/test_config.py)
                **{k.removeprefix("KAZUO_").lower(): v for k, v in REAL_IDS.items()})
    return load_settings(**{**base, **kw})


def test_production_needs_the_chosen_versions_payment_keys(tmp_path):
    with pytest.raises(ConfigError) as e:
        _prod()
    for name in ("KAZUO_WECHAT_PAY_MCH_PRIVATE_KEY", "KAZUO_WECHAT_PAY_MCH_CERT_SERIAL", "KAZUO_WECHAT_PAY_APIV3_KEY",
                 "KAZUO_WECHAT_PAY_PUBLIC_KEY"):
        assert name in str(e.value)
    with pytest.raises(ConfigError) as e:
        _prod(wechat_pay_mch_private_key="k", wechat_pay_mch_cert_serial="S", wechat_pay_apiv3_key="short",
              wechat_pay_platform_cert_dir=str(tmp_path))
    assert "KAZUO_WECHAT_PAY_APIV3_KEY (32 bytes)" in str(e.value)
    with pytest.raises(ConfigError) as e:
        _prod(wechat_pay_api_version="v2")
    assert "KAZUO_WECHAT_PAY_API_KEY" in str(e.value) and "KAZUO_WECHAT_PAY_V2_CERT_PATH" in str(e.value)
    assert "KAZUO_WECHAT_PAY_MCH_PRIVATE_KEY" not in str(e.value)
    v2 = dict(wechat_pay_api_version="v2", wechat_pay_api_key="k" * 32, wechat_pay_v2_cert_path="/c/apiclient_cert.p12")
    assert _prod(**v2).wechat_pay_api_version == "v2"
    v3 = dict(wechat_pay_mch_private_key="k", wechat_pay_mch_cert_serial="S", wechat_pay_apiv3_key="a" * 32,
              wechat_pay_public_key="PEM", wechat_pay_public_key_id="PUB_KEY_ID_1")
    assert _prod(**v3).wechat_pay_api_version == "v3"
    with pytest.raises(ConfigError):
        _prod(**{**v3, "wechat_pay_public_key_id": ""})  # a public key without its id



def test_unreadable_v3_keys_name_the_variable(settings):
    with pytest.raises(ConfigError) as e:
        wechatpay_gateway.build(settings.model_copy(update={"wechat_pay_mch_private_key": SecretStr("not a key")}),
                                "v3")
    assert "KAZUO_WECHAT_PAY_MCH_PRIVATE_KEY" in str(e.value)
    with pytest.raises(ConfigError) as e:
        wechatpay_gateway.build(settings.model_copy(update={"wechat_pay_public_key": "garbage",
                                                            "wechat_pay_public_key_id": "PUB_KEY_ID_1"}), "v3")
    assert "KAZUO_WECHAT_PAY_PUBLIC_KEY" in str(e.value)


def test_a_v2_call_on_a_connection_closed_meanwhile_is_made_once_more_at_once(monkeypatch):
    """A kept-alive connection that WeChat Pay (or its simulator) had closed fails with 'Connection
    aborted'; the call goes once more on a fresh connection. A timeout is not repeated."""
    calls = []

    def flaky(self, method, url, **kwargs):
        calls.append(url)
        if len(calls) == 1:
            raise requests.ConnectionError("('Connection aborted.', RemoteDisconnected(...))")
        return {"return_code": "SUCCESS"}

    monkeypatch.setattr(WeChatPay, "_request", flaky)
    pay = _Pay("wxapp", "k" * 32, "1900000001", api_base="http://127.0.0.1:9/", secapi_base="http://127.0.0.1:9/",
               secapi_verify=False)
    assert pay._request("post", "secapi/pay/refund") == {"return_code": "SUCCESS"} and len(calls) == 2

    def slow(self, method, url, **kwargs):
        calls.append(url)
        raise requests.ReadTimeout("read timed out")

    calls.clear()
    monkeypatch.setattr(WeChatPay, "_request", slow)
    with pytest.raises(requests.ReadTimeout):
        pay._request("post", "pay/unifiedorder")
    assert len(calls) == 1
