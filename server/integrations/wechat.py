"""WeChat (mini-program) through wechatpy. wechatpy is synchronous: every call runs in the WeChat
vendor pool (server/kit/pools.py) with a deadline, never on the event loop. In simulator mode the API
base points at our own /__sim__/wechat routes.

Where wechatpy 1.8.18 cannot say what WeChat's API takes (wxacode.getUnlimited's check_path and
env_version), the call goes to WeChat directly with httpx, with the access token from the same
token storage wechatpy uses (Redis), still in the vendor pool."""
from __future__ import annotations

import logging
from typing import Any

import httpx
import orjson
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage

from server.kit import pools
from server.kit.runtime import Runtime
from server.kit.errors import AppError, RateLimited, UpstreamError
from server.integrations.errors import IntegrationCode

log = logging.getLogger("kazuo.wechat")

# WeChat error codes we answer differently (the rest are an upstream failure).
INVALID_CODE = 40029
CODE_USED = 40163
FREQ_LIMIT = 45011
# The access token was refused (invalid, not the latest, expired): fetch a new one and try once more.
TOKEN_REFUSED = (40001, 40014, 42001)


class RedisSessionStorage(SessionStorage):
    """wechatpy token storage in Redis, shared by every process (sync client: runs in threads)."""

    def __init__(self, client: Any, prefix: str):
        self.client, self.prefix = client, prefix

    def get(self, key, default=None):
        v = self.client.get(self.prefix + key)
        return default if v is None else v.decode()

    def set(self, key, value, ttl=None):
        self.client.set(self.prefix + key, value, ex=ttl or None)

    def delete(self, key):
        self.client.delete(self.prefix + key)


class _Client(WeChatClient):
    def __init__(self, appid, secret, *, api_base: str, **kw):
        super().__init__(appid, secret, **kw)
        self.API_BASE_URL = api_base + "cgi-bin/"
        for name in ("wxa", "message"):
            api = getattr(self, name, None)
            if api is not None:
                api.API_BASE_URL = api_base
        self._api_base = api_base

    def fetch_access_token(self):
        return self._fetch_access_token(
            url=self._api_base + "cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret})


class WeChat:
    def __init__(self, *, app_id: str, app_secret: str, api_base: str, session: SessionStorage | None,
                 deadline: float = 10.0, wxacode_env_version: str = "release"):
        self.app_id = app_id
        self.api_base = api_base
        self.deadline = deadline
        self.wxacode_env_version = wxacode_env_version
        self.client = _Client(app_id, app_secret, api_base=api_base, session=session, timeout=5,
                              auto_retry=True)

    async def call(self, fn, *args, **kwargs) -> Any:
        """Run a blocking wechatpy call in the WeChat pool (with the deadline) and map WeChat's errors
        to ours: UpstreamError carries details.errcode when WeChat answered one."""
        try:
            return await pools.vendor_call(pools.WECHAT, fn, *args, deadline=self.deadline, **kwargs)
        except WeChatClientException as exc:
            code = int(exc.errcode or 0)
            if not code:  # an HTTP failure wechatpy wraps: WeChat gave no answer
                log.warning("wechat failed without an answer: %s", exc.errmsg)
                raise UpstreamError("WeChat is unreachable") from None
            if code == INVALID_CODE:
                raise AppError("the WeChat login code is invalid", code=IntegrationCode.WECHAT_CODE_INVALID,
                               status=400, details={"field": "code", "errcode": code}) from None
            if code == CODE_USED:
                raise AppError("the WeChat login code was already used",
                               code=IntegrationCode.WECHAT_CODE_USED,
                               status=400, details={"field": "code", "errcode": code}) from None
            if code == FREQ_LIMIT:
                raise RateLimited("WeChat rate limit", retry_after=5) from None
            log.warning("wechat error", extra={"errcode": code, "errmsg": exc.errmsg})
            raise UpstreamError(f"WeChat refused: {exc.errmsg}", details={"errcode": code}) from None
        except AppError:
            raise
        except Exception as exc:  # network failure
            log.warning("wechat unreachable: %s", exc)
            raise UpstreamError("WeChat is unreachable") from None

    async def code_to_session(self, code: str) -> dict:
        """jscode2session: {openid, session_key, unionid?}."""
        return await self.call(self.client.wxa.code_to_session, code)

    async def post(self, path: str, body: dict) -> dict:
        """A JSON API call wechatpy has no method for (e.g. wxa/sec/order/upload_shipping_info)."""
        return await self.call(self.client.post, self.api_base + path, data=body)

    async def send_subscribe_message(self, openid: str, template_id: str, data: dict, page: str) -> None:
        """subscribeMessage.send (data already in WeChat's keyword formats: server/notify/registry.py)."""
        await self.call(self.client.wxa.send_subscribe_message, openid, template_id, data, page)

    async def wxacode_unlimited(self, scene: str, page: str, *, width: int = 430) -> bytes:
        """wxacode.getUnlimited as PNG, with check_path=false (the page need not be published yet) and
        env_version from KAZUO_WECHAT_WXACODE_ENV_VERSION."""
        body = {"scene": scene, "page": page, "width": width, "check_path": False,
                "env_version": self.wxacode_env_version}
        png = await self.call(self._wxacode_sync, body)
        if not png.startswith(b"\x89PNG"):
            raise UpstreamError("WeChat did not return a mini-program code image")
        return png

    def _wxacode_sync(self, body: dict) -> bytes:
        # Runs in the WeChat pool. WeChat answers an image, or JSON with an errcode (HTTP 200).
        url = self.api_base + "wxa/getwxacodeunlimit"
        for attempt in range(2):
            token = self.client.access_token  # from the shared token storage; fetched when missing
            r = httpx.post(url, params={"access_token": token}, content=orjson.dumps(body),
                           headers={"Content-Type": "application/json"}, timeout=5)
            r.raise_for_status()
            if not r.headers.get("content-type", "").startswith(("application/json", "text/")):
                return r.content
            answer = orjson.loads(r.content)
            code = int(answer.get("errcode") or 0)
            if code in TOKEN_REFUSED and attempt == 0:
                self.client.session.delete(self.client.access_token_key)
                continue
            raise WeChatClientException(code, answer.get("errmsg", ""), client=self.client, response=r)
        raise AssertionError("unreachable")


def install(settings, rt: Runtime) -> None:
    """Start-up hook (server/startup.py): the WeChat client as runtime extras["wechat"] (the simulator's
    address while the simulators are on)."""
    sim_base = settings.base_url + "/__sim__/"
    api_base = settings.wechat_api_base or (sim_base + "wechat/" if settings.simulators_on
                                            else "https://api.weixin.qq.com/")
    rt.extras["wechat"] = WeChat(
        app_id=settings.wechat_app_id, app_secret=settings.secret("wechat_app_secret"),
        api_base=api_base,
        session=RedisSessionStorage(rt.extras["sync_redis"], settings.redis_prefix + "wechatpy:"),
        deadline=settings.wechat_deadline_seconds, wxacode_env_version=settings.wechat_wxacode_env_version)
