"""The Aliyun simulator against the real SDK over real HTTP: signatures, replay, freshness, errors."""
from __future__ import annotations

import asyncio
import time
from urllib.parse import parse_qsl, urlencode

import orjson
import pytest
from pydantic import SecretStr
from aliyunsdkcore.auth.composer.rpc_signature_composer import get_signed_url

from server.integrations import aliyun as gateway
from server.integrations.simulators import aliyun as sim
from server.kit import runtime
from server.kit.errors import RateLimited, ValidationFailed

SIM = "/__sim__/aliyun"


def _creds(settings) -> tuple[str, str]:
    return settings.aliyun_access_key_id, settings.secret("aliyun_access_key_secret")


def _sms_params(phone: str, template: str = "SMS_900000001", **extra) -> dict:
    return {"Action": "SendSms", "Version": "2017-05-25", "RegionId": "cn-hangzhou",
            "PhoneNumbers": phone, "SignName": "喀左特色馆", "TemplateCode": template,
            "TemplateParam": '{"name":"张三 & 李四","when":"明天*~"}', **extra}


def sdk_signed_url(settings, params: dict, *, secret: str | None = None, ak: str | None = None) -> str:
    """The query the SDK itself builds and signs (its own composer, not ours)."""
    key_id, key_secret = _creds(settings)
    url, _ = get_signed_url(dict(params), ak or key_id, secret or key_secret, "JSON", "POST", {})
    return SIM + url


def resign(settings, url: str, **changes) -> str:
    """Change parameters of a signed URL and sign again with our (SDK-equivalent) signer."""
    params = dict(parse_qsl(url.split("?", 1)[1], keep_blank_values=True))
    params.update(changes)
    params = {k: v for k, v in params.items() if v is not None}
    params.pop("Signature", None)
    params["Signature"] = sim.sign("POST", params, _creds(settings)[1])
    return SIM + "/?" + urlencode(params)


def test_our_signer_matches_the_sdk(settings):
    # The SDK's composer gives both the string-to-sign and the signature: ours must agree exactly,
    # including UTF-8, spaces, '*', '~' and the blank SignatureType.
    params = _sms_params("13800138000")
    url, sts = get_signed_url(dict(params), "ak", "secret", "JSON", "POST", {})
    query = dict(parse_qsl(url[2:], keep_blank_values=True))
    assert query["SignatureType"] == ""
    assert sim.string_to_sign("POST", query) == sts
    assert sim.sign("POST", query, "secret") == query["Signature"]


async def test_sdk_happy_path_records_the_message(client, settings):
    aliyun = runtime.get().extras["aliyun"]
    assert aliyun.protocol == "http" and aliyun.endpoint.endswith("/__sim__/aliyun")
    body = await aliyun.send_sms("13900001111", "SMS_900000002", {"station": "南哨街道服务站", "n": 3},
                                 "out-happy-1")
    assert body["Code"] == "OK" and body["Message"] == "OK"
    assert body["BizId"] and body["RequestId"]
    r = await client.get(f"{SIM}/sms", params={"phone": "13900001111"})
    msgs = r.json()["messages"]
    assert msgs[0]["template_code"] == "SMS_900000002"
    assert msgs[0]["params"] == {"station": "南哨街道服务站", "n": "3"}  # Aliyun takes strings only
    assert msgs[0]["sign_name"] == settings.aliyun_sms_sign_name
    assert msgs[0]["out_id"] == "out-happy-1" and msgs[0]["biz_id"] == body["BizId"]
    await aliyun.send_sms("13900001111", "SMS_900000003", {}, "out-happy-2")
    msgs = (await client.get(f"{SIM}/sms", params={"phone": "13900001111"})).json()["messages"]
    assert [m["out_id"] for m in msgs] == ["out-happy-2", "out-happy-1"]  # newest first


async def test_wrong_secret_is_refused_and_the_sdk_recognises_it(settings):
    bad = gateway.Aliyun(access_key_id=settings.aliyun_access_key_id, access_key_secret="not-the-secret",
                         region="cn-hangzhou", endpoint=settings.base_url + SIM, sms_sign_name="喀左特色馆")
    with pytest.raises(gateway.AliyunError) as err:
        await bad.send_sms("13900002222", "SMS_900000001", {}, "o1")
    assert err.value.aliyun_code == "SignatureDoesNotMatch"
    assert err.value.http_status == 400 and err.value.answered
    assert err.value.status == 502
    # With a typed request the SDK compares the gateway's string-to-sign (in the message) with its
    # own and, when they agree, concludes the secret is wrong: our message format is exactly Aliyun's.
    from aliyunsdkcore.acs_exception.exceptions import ServerException
    from aliyunsdkdysmsapi.request.v20170525.SendSmsRequest import SendSmsRequest

    req = SendSmsRequest()
    req.set_endpoint(settings.base_url.split("://", 1)[1] + SIM)
    req.set_protocol_type("http")
    req.set_PhoneNumbers("13900002222")
    req.set_SignName(settings.aliyun_sms_sign_name)
    req.set_TemplateCode("SMS_900000001")
    with pytest.raises(ServerException) as sdk_err:
        await asyncio.to_thread(bad.client.do_action_with_exception, req)
    assert sdk_err.value.get_error_code() == "InvalidAccessKeySecret"
    good = runtime.get().extras["aliyun"]
    req.set_OutId("typed-ok")
    body = orjson.loads(await asyncio.to_thread(good.client.do_action_with_exception, req))
    assert body["Code"] == "OK"


async def test_tampered_signature_and_parameters_are_refused(client, settings):
    url = sdk_signed_url(settings, _sms_params("13900003333"))
    tampered = url.replace("PhoneNumbers=13900003333", "PhoneNumbers=13900004444")
    r = await client.post(tampered)
    assert r.status_code == 400
    body = r.json()
    assert body["Code"] == "SignatureDoesNotMatch"
    assert body["Message"].startswith("Specified signature is not matched with our calculation. "
                                      "server string to sign is:POST&%2F&")
    assert body["RequestId"] and body["HostId"] == "dysmsapi.aliyuncs.com"
    # The real, untampered request still goes through (the failed one did not burn its nonce).
    ok = await client.post(url)
    assert ok.status_code == 200 and ok.json()["Code"] == "OK"
    assert (await client.get(f"{SIM}/sms", params={"phone": "13900004444"})).json()["messages"] == []


async def test_unknown_access_key_is_404(client, settings):
    r = await client.post(sdk_signed_url(settings, _sms_params("13900005555"), ak="LTAInobody"))
    assert r.status_code == 404
    assert r.json()["Code"] == "InvalidAccessKeyId.NotFound"


async def test_a_replayed_nonce_is_refused(client, settings):
    url = sdk_signed_url(settings, _sms_params("13900006666"))
    assert (await client.post(url)).json()["Code"] == "OK"
    r = await client.post(url)
    assert r.status_code == 400 and r.json()["Code"] == "SignatureNonceUsed"
    msgs = (await client.get(f"{SIM}/sms", params={"phone": "13900006666"})).json()["messages"]
    assert len(msgs) == 1


@pytest.mark.parametrize("offset, code", [(-16 * 60, "InvalidTimeStamp.Expired"),
                                          (16 * 60, "InvalidTimeStamp.Expired"),
                                          (None, "InvalidTimeStamp.Format")])
async def test_stale_or_malformed_timestamps_are_refused(client, settings, offset, code):
    timestamp = ("2026/11/29 10:00:00" if offset is None
                 else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + offset)))
    url = resign(settings, sdk_signed_url(settings, _sms_params("13900007777")), Timestamp=timestamp)
    r = await client.post(url)
    assert r.status_code == 400 and r.json()["Code"] == code


async def test_a_fresh_resigned_timestamp_is_accepted(client, settings):
    ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 10 * 60))
    url = resign(settings, sdk_signed_url(settings, _sms_params("13900007778")), Timestamp=ts)
    assert (await client.post(url)).json()["Code"] == "OK"


async def test_missing_and_unknown_things_use_aliyun_codes(client, settings):
    base = sdk_signed_url(settings, _sms_params("13900008888"))
    r = await client.post(resign(settings, base, SignatureNonce=None))
    assert r.status_code == 400 and r.json()["Code"] == "MissingParameter"
    assert '"SignatureNonce"' in r.json()["Message"]
    r = await client.post(resign(settings, base, PhoneNumbers=None, SignatureNonce="n-missing-phone"))
    assert r.status_code == 400
    assert r.json()["Code"] == "MissingPhoneNumbers"
    assert r.json()["Message"] == "PhoneNumbers is mandatory for this action."
    r = await client.post(resign(settings, base, Action="NoSuchAction", SignatureNonce="n-action"))
    assert r.status_code == 404 and r.json()["Code"] == "InvalidAction.NotFound"
    r = await client.post(resign(settings, base, Version="2099-01-01", SignatureNonce="n-version"))
    assert r.status_code == 400 and r.json()["Code"] == "InvalidVersion"
    r = await client.post(SIM + "/")
    assert r.status_code == 400 and "<Code>MissingParameter</Code>" in r.text  # XML by default


async def test_business_errors_are_http_200_with_a_code(client, settings):
    url = sdk_signed_url(settings, _sms_params("12345"))
    r = await client.post(url)
    assert r.status_code == 200 and r.json()["Code"] == "isv.MOBILE_NUMBER_ILLEGAL"
    r = await client.post(sdk_signed_url(settings, _sms_params("13900009999", SignName="别人的签名")))
    assert r.json()["Code"] == "isv.SMS_SIGNATURE_ILLEGAL"
    r = await client.post(sdk_signed_url(settings, _sms_params("13900009999", TemplateCode="nope")))
    assert r.json()["Code"] == "isv.SMS_TEMPLATE_ILLEGAL"
    r = await client.post(sdk_signed_url(settings, _sms_params("13900009999", TemplateParam='{"n": 1}')))
    assert r.json()["Code"] == "isv.INVALID_JSON_PARAM"
    r = await client.post(resign(settings, sdk_signed_url(settings, _sms_params("13900009999")), Format="XML"))
    assert r.status_code == 200 and "<SendSmsResponse>" in r.text and "<Code>OK</Code>" in r.text


async def test_gateway_maps_invalid_phone_and_flow_control(settings):
    aliyun = runtime.get().extras["aliyun"]
    with pytest.raises(ValidationFailed) as err:
        await aliyun.send_sms("1380013", "SMS_900000001", {}, "bad-phone")
    assert err.value.details[0]["field"] == "phone"
    # Verification-code templates: Aliyun allows 1 a minute per phone.
    code_template = settings.aliyun_sms_template_code
    await aliyun.send_sms("13911112222", code_template, {"code": "123456"}, "fc-1")
    with pytest.raises(RateLimited) as err:
        await aliyun.send_sms("13911112222", code_template, {"code": "654321"}, "fc-2")
    assert err.value.headers["Retry-After"] == "60"


async def test_generic_rpc_and_the_action_registry(settings):
    calls = []

    @sim.action("DescribeKazuoTest", version="2016-11-01", product="live", host="live.aliyuncs.com")
    async def describe(params, request_id):
        calls.append(params["StreamName"])
        return {"Items": {"Name": params["StreamName"]}}

    try:
        body = await runtime.get().extras["aliyun"].rpc("live.aliyuncs.com", "2016-11-01",
                                                        "DescribeKazuoTest", {"StreamName": "直播-1"})
    finally:
        sim.ACTIONS.pop("DescribeKazuoTest", None)
    assert body["Items"] == {"Name": "直播-1"} and body["RequestId"]
    assert calls == ["直播-1"]


async def test_sms_listing_validates_the_phone(client):
    r = await client.get(f"{SIM}/sms", params={"phone": "abc"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "phone"
    r = await client.get(f"{SIM}/sms")
    assert r.status_code == 422


def test_endpoint_resolution(settings):
    assert gateway._split_endpoint("http://127.0.0.1:9/__sim__/aliyun/") == ("http", "127.0.0.1:9/__sim__/aliyun")
    assert gateway._split_endpoint("dysmsapi.aliyuncs.com") == ("https", "dysmsapi.aliyuncs.com")
    real = settings.model_copy(update={"simulators": "off", "aliyun_endpoint": "",
                                       "aliyun_access_key_secret": SecretStr("real-secret")})
    g = gateway.Aliyun.from_settings(real)
    assert g.protocol == "https" and g.endpoint == ""
    assert g._request(gateway.SMS_DOMAIN, "2017-05-25", "SendSms", {}).get_domain() == "dysmsapi.aliyuncs.com"
