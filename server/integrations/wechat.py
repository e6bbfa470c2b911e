"""WeChat (mini-program) through wechatpy. wechatpy is synchronous: every call runs in a thread,
never on the event loop. In simulator mode the API base points at our own /__sim__/wechat routes."""
from __future__ import annotations

import logging
from typing import Any

from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage

from server.kit import pools
from server.kit.errors import AppError, RateLimited, UpstreamError

log = logging.getLogger("kazuo.wechat")

# WeChat error codes we answer differently (the rest are an upstream failure).
INVALID_CODE = 40029
CODE_USED = 40163
FREQ_LIMIT = 45011


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
    def __init__(self, *, app_id: str, app_secret: str, api_base: str, session: SessionStorage | None):
        self.app_id = app_id
        self.api_base = api_base
        self.client = _Client(app_id, app_secret, api_base=api_base, session=session, timeout=5,
                              auto_retry=True)
        # Connect and read timeouts of a call and of the access-token fetch auto_retry may add, plus
        # the wait for a thread of the WeChat pool.
        self.deadline = 21.0

    async def call(self, fn, *args, **kwargs) -> Any:
        """Run a wechatpy call in the WeChat pool and map WeChat's errors to ours."""
        try:
            return await pools.vendor_call(pools.WECHAT, fn, *args, deadline=self.deadline, **kwargs)
        except WeChatClientException as exc:
            code = int(exc.errcode or 0)
            if code == INVALID_CODE:
                raise AppError("the WeChat login code is invalid", code="wechat_code_invalid",
                               status=400, details={"field": "code", "errcode": code}) from None
            if code == CODE_USED:
                raise AppError("the WeChat login code was already used", code="wechat_code_used",
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
