"""Media on Aliyun OSS through oss2 (synchronous: every call runs in the "oss" vendor pool with a
deadline). Implements server/media/storage.py's Storage: public objects (product images) are
written public-read and served from the bucket (or KAZUO_MEDIA_BASE_URL, a CDN in front of it);
private documents (merchant licences, training archives) are written private and reached only
through signed, expiring URLs (OSS V1: OSSAccessKeyId, Expires, Signature).

With simulators on and no KAZUO_OSS_ENDPOINT, the client talks to the built-in simulator
(server/integrations/simulators/oss.py) at our own address, bucket SIM_BUCKET, with the simulator
credentials; oss2 signs exactly as for the real service and the simulator checks it."""
from __future__ import annotations

import re
from urllib.parse import quote, urlparse

import oss2

from config.settings import Settings
from server.kit import pools
from server.media.storage import check_key, is_private, set_storage

SIM_BUCKET = "kazuo-oss-sim"
# Aliyun's internal endpoint of a region (for servers in its VPC: free traffic) and its public one
# beside it, which browsers and phones reach: oss-cn-hangzhou-internal.aliyuncs.com, oss-cn-hangzhou...
_INTERNAL = re.compile(r"^(oss-[a-z0-9-]+?)-internal(\.aliyuncs\.com(:[0-9]+)?)$")


def public_endpoint(endpoint: str) -> str:
    """The endpoint a client outside Aliyun's network reaches the bucket at: the public one for an
    internal endpoint, else the endpoint itself."""
    p = urlparse(endpoint)
    m = _INTERNAL.match(p.netloc)
    return p._replace(netloc=m.group(1) + m.group(2)).geturl() if m else endpoint


def credentials(settings: Settings) -> tuple[str, str]:
    """(AccessKeyId, AccessKeySecret) of OSS calls: the OSS pair, else the Aliyun account's."""
    if settings.oss_access_key_secret is not None:
        return (settings.oss_access_key_id or settings.aliyun_access_key_id,
                settings.oss_access_key_secret.get_secret_value())
    return settings.oss_access_key_id or settings.aliyun_access_key_id, settings.secret("aliyun_access_key_secret")


def endpoint_and_bucket(settings: Settings) -> tuple[str, str]:
    if not settings.oss_endpoint and settings.simulators_on:
        return settings.base_url, SIM_BUCKET
    return settings.oss_endpoint, settings.oss_bucket


class OssStorage:
    """Storage on one OSS bucket."""

    def __init__(self, *, endpoint: str, bucket: str, access_key_id: str, access_key_secret: str,
                 public_base_url: str = "", timeout: float = 10.0, private_url_ttl: int = 600):
        auth = oss2.Auth(access_key_id, access_key_secret)
        self.bucket = oss2.Bucket(auth, endpoint, bucket, connect_timeout=timeout)
        self.timeout = timeout
        self.private_url_ttl = private_url_ttl
        # What clients are given (public and signed URLs) names the public endpoint: the server may talk
        # to the bucket over the internal one, which no phone or office browser reaches. A V1 signature
        # covers /bucket/key, not the host, so a URL signed here is good on either.
        reachable = public_endpoint(endpoint)
        self._signer = self.bucket if reachable == endpoint else oss2.Bucket(auth, reachable, bucket)
        p = urlparse(reachable)
        if public_base_url:
            self.public_base = public_base_url.rstrip("/")
        elif oss2.utils.is_ip_or_localhost(p.netloc):
            self.public_base = f"{p.scheme}://{p.netloc}/{bucket}"   # path style, as oss2 addresses it
        else:
            self.public_base = f"{p.scheme}://{bucket}.{p.netloc}"

    @classmethod
    def from_settings(cls, settings: Settings) -> "OssStorage":
        endpoint, bucket = endpoint_and_bucket(settings)
        ak, secret = credentials(settings)
        return cls(endpoint=endpoint, bucket=bucket, access_key_id=ak, access_key_secret=secret,
                   public_base_url=settings.media_base_url, timeout=settings.oss_timeout_seconds,
                   private_url_ttl=settings.media_private_url_ttl_seconds)

    async def _call(self, fn, *args, **kwargs):
        return await pools.vendor_call("oss", fn, *args, deadline=self.timeout * 2, **kwargs)

    async def save(self, key: str, data: bytes, content_type: str) -> None:
        acl = oss2.OBJECT_ACL_PRIVATE if is_private(key) else oss2.OBJECT_ACL_PUBLIC_READ
        await self._call(self.bucket.put_object, check_key(key), data,
                         headers={"Content-Type": content_type, "x-oss-object-acl": acl})

    async def open(self, key: str) -> bytes:
        return await self._call(lambda: self.bucket.get_object(check_key(key)).read())

    async def delete(self, key: str) -> None:
        await self._call(self.bucket.delete_object, check_key(key))

    def url(self, key: str) -> str:
        return f"{self.public_base}/{quote(check_key(key))}"

    def signed_url(self, key: str, expires_in: int) -> str:
        # Local HMAC only (no network): fine on the event loop.
        return self._signer.sign_url("GET", check_key(key), expires_in, slash_safe=True)


def install(settings: Settings, rt) -> None:
    """INTEGRATION_HOOKS entry: OSS as the media storage when KAZUO_MEDIA_STORAGE resolves to oss."""
    if settings.media_backend == "oss":
        set_storage(OssStorage.from_settings(settings))
