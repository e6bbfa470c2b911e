"""Aliyun OSS simulator: one bucket (SIM_BUCKET) at our own address, path style, as oss2 addresses an
IP endpoint (http://127.0.0.1:PORT/kazuo-oss-sim/<key>). PutObject, GetObject, HeadObject and
DeleteObject, with the checks the real service makes and its XML error shapes:

- a signed request (`Authorization: OSS <AccessKeyId>:<Signature>`): the AccessKeyId
  (InvalidAccessKeyId), the Date within 15 minutes (RequestTimeTooSkewed), then the V1 signature,
  Base64(HMAC-SHA1(secret, VERB\\nContent-MD5\\nContent-Type\\nDate\\nCanonicalizedOSSHeaders +
  CanonicalizedResource)) (SignatureDoesNotMatch, with the StringToSign it computed);
- a signed URL (`?OSSAccessKeyId=&Expires=&Signature=`): the same string with Expires in place of
  Date, refused once Expires has passed (AccessDenied, "Request has expired.");
- no signature: only GET/HEAD of a public-read object (AccessDenied otherwise).
Objects live in Redis (keys under "sim"), so every server process sees the same bucket."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from email.utils import parsedate_to_datetime
from urllib.parse import unquote
from xml.sax.saxutils import escape

from sanic import Blueprint, HTTPResponse, Request

from server.integrations.oss import SIM_BUCKET, credentials
from server.kit import clock, runtime
from server.kit import redis as kr

bp = Blueprint("sim_oss")

SKEW = 15 * 60
KEEP = 7 * 24 * 3600
ACLS = ("private", "public-read", "public-read-write", "default")
# Sub-resources that join the CanonicalizedResource (OSS's list; this simulator implements none).
SUBRESOURCES = {"acl", "uploads", "location", "cors", "logging", "website", "referer", "lifecycle", "delete",
                "append", "tagging", "objectMeta", "uploadId", "partNumber", "security-token", "position",
                "img", "style", "styleName", "replication", "replicationProgress", "replicationLocation",
                "cname", "bucketInfo", "comp", "qos", "live", "status", "vod", "startTime", "endTime",
                "symlink", "x-oss-process", "response-content-type", "response-content-language",
                "response-expires", "response-cache-control", "response-content-disposition",
                "response-content-encoding", "udf", "udfName", "udfImage", "udfId", "udfImageDesc",
                "udfApplication", "udfApplicationLog", "restore", "callback", "callback-var", "policy",
                "stat", "encryption", "versions", "versioning", "versionId", "requestPayment", "x-oss-request-payer",
                "sequential", "inventory", "inventoryId", "continuation-token", "asyncFetch", "worm", "wormId",
                "wormExtend", "accessPoint", "accessPointPolicy"}


class OssError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: str):
        super().__init__(code)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def _error(exc: OssError, request_id: str) -> HTTPResponse:
    extra = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in exc.extra.items())
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{exc.code}</Code>'
            f"<Message>{escape(exc.message)}</Message><RequestId>{request_id}</RequestId>"
            f"<HostId>{SIM_BUCKET}.oss-cn-hangzhou.aliyuncs.com</HostId>{extra}</Error>")
    return HTTPResponse(body, status=exc.status, content_type="application/xml",
                        headers={"x-oss-request-id": request_id})


def string_to_sign(method: str, headers, resource: str, date: str) -> str:
    """OSS V1's string to sign (the same for a signed request and, with Expires as date, a signed URL)."""
    oss_headers = sorted((k.lower(), v) for k, v in headers.items() if k.lower().startswith("x-oss-"))
    canon = "".join(f"{k}:{v}\n" for k, v in oss_headers)
    return "\n".join([method, headers.get("content-md5", ""), headers.get("content-type", ""), date,
                      canon + resource])


def _sign(secret: str, text: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), text.encode(), hashlib.sha1).digest()).decode()


def _resource(key: str, args) -> str:
    subs = sorted((k, v) for k, v in args.items() if k in SUBRESOURCES)
    query = "&".join(k + ("=" + v if v else "") for k, v in subs)
    return f"/{SIM_BUCKET}/{key}" + ("?" + query if query else "")


def _authenticate(request: Request, key: str) -> bool:
    """True when the request is signed (and the signature holds); False when it is anonymous."""
    ak, secret = credentials(runtime.settings())
    args = {k: v[0] for k, v in request.args.items()}
    auth = request.headers.get("authorization", "")
    if auth:
        if not auth.startswith("OSS ") or ":" not in auth:
            raise OssError(400, "InvalidArgument", "Authorization header is invalid.")
        given_ak, given_sig = auth[4:].rsplit(":", 1)
        date = request.headers.get("date", "")
        try:
            when = parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            raise OssError(403, "AccessDenied", "OSS authentication requires a valid Date.") from None
        if abs(clock.timestamp() - when) > SKEW:
            raise OssError(403, "RequestTimeTooSkewed",
                           "The difference between the request time and the current time is too large.")
    elif "Signature" in args:
        given_ak, given_sig = args.get("OSSAccessKeyId", ""), args["Signature"]
        date = args.get("Expires", "")
        if not date.isdigit():
            raise OssError(403, "AccessDenied", "Expires should be an integer.")
        if int(date) < clock.timestamp():
            raise OssError(403, "AccessDenied", "Request has expired.", Expires=date)
    else:
        return False
    if given_ak != ak:
        raise OssError(403, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist in our records.",
                       OSSAccessKeyId=given_ak)
    text = string_to_sign(request.method, request.headers, _resource(key, args), date)
    if not hmac.compare_digest(_sign(secret, text), given_sig):
        raise OssError(403, "SignatureDoesNotMatch",
                       "The request signature we calculated does not match the signature you provided.",
                       OSSAccessKeyId=given_ak, StringToSign=text)
    return True


def _obj_key(key: str) -> str:
    return kr.key("sim", "oss", SIM_BUCKET, key)


@bp.route(f"/{SIM_BUCKET}/<key:path>", methods=["GET", "HEAD", "PUT", "DELETE"], name="object")
async def obj(request: Request, key: str):
    request_id = secrets.token_hex(12).upper()
    key = unquote(key)  # oss2 sends "a%2Fb.png" unless told the slashes are safe
    try:
        signed = _authenticate(request, key)
        redis = kr.redis()
        if request.method == "PUT":
            if not signed:
                raise OssError(403, "AccessDenied", "You have no right to access this object because of bucket acl.")
            data = request.body or b""
            md5 = hashlib.md5(data)
            given = request.headers.get("content-md5")
            if given and given != base64.b64encode(md5.digest()).decode():
                raise OssError(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")
            acl = request.headers.get("x-oss-object-acl", "default")
            if acl not in ACLS:
                raise OssError(400, "InvalidArgument", "no such object access control exists")
            etag = '"' + md5.hexdigest().upper() + '"'
            await redis.hset(_obj_key(key), mapping={"b": data, "ct": request.headers.get("content-type", ""),
                                                     "acl": acl, "etag": etag})
            await redis.expire(_obj_key(key), KEEP)
            return HTTPResponse(status=200, headers={"ETag": etag, "x-oss-request-id": request_id})
        if request.method == "DELETE":
            if not signed:
                raise OssError(403, "AccessDenied", "You have no right to access this object because of bucket acl.")
            await redis.delete(_obj_key(key))
            return HTTPResponse(status=204, headers={"x-oss-request-id": request_id})
        stored = await redis.hgetall(_obj_key(key))
        if not stored:
            raise OssError(404, "NoSuchKey", "The specified key does not exist.", Key=key)
        if not signed and stored[b"acl"] != b"public-read":
            raise OssError(403, "AccessDenied", "You have no right to access this object because of bucket acl.")
        data = stored[b"b"]
        headers = {"ETag": stored[b"etag"].decode(), "x-oss-request-id": request_id,
                   "x-oss-object-type": "Normal"}
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(data))
            return HTTPResponse(status=200, headers=headers, content_type=stored[b"ct"].decode() or None)
        return HTTPResponse(data, status=200, headers=headers,
                            content_type=stored[b"ct"].decode() or "application/octet-stream")
    except OssError as exc:
        return _error(exc, request_id)
