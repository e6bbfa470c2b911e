"""WeChat Pay: the prepay for the mini-program, and WeChat's payment and refund notifications."""
from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from server.integrations.wechatpay import Reply
from server.kit.http import endpoint, read_body
from server.payments import service as payments
from server.payments.service import JsapiParamsOut

bp = Blueprint("mp_pay", url_prefix="/api/v1")
XML = {"text/xml": {"schema": {"type": "string"}}}
JSON = {"application/json": {"schema": {"type": "object"}}}


def client_ip(request: Request) -> str:
    return request.remote_addr or request.ip or "127.0.0.1"


@bp.post("/orders/<order_id:int>/pay")
@endpoint(summary="Create the WeChat prepay order (JSAPI) and return wx.requestPayment parameters",
          auth="user", response=JsapiParamsOut, tags=("orders",), errors=(409, 502))
async def pay(request: Request, principal, order_id: int):
    return await payments.create_jsapi_payment(principal.user_id, order_id, client_ip=client_ip(request))


async def _body(request: Request) -> bytes:
    """Streamed: a body over NOTIFY_MAX_BYTES is refused (413) before it is read, let alone stored."""
    return await read_body(request, payments.NOTIFY_MAX_BYTES)


def _answer(reply: Reply) -> HTTPResponse:
    return HTTPResponse(reply.body, status=reply.status, content_type=reply.content_type)


@bp.post("/pay/wechat/notify", stream=True)
@endpoint(summary="WeChat Pay v2 payment notification (signed XML; answered with SUCCESS/FAIL XML)",
          request_content=XML, response_content=XML, tags=("wechat pay",),
          errors=(413,))
async def notify(request: Request):
    return _answer(await payments.handle_pay_notification(await _body(request), request.headers, "v2"))


@bp.post("/pay/wechat/refund-notify", stream=True)
@endpoint(summary="WeChat Pay v2 refund notification (req_info encrypted)", request_content=XML,
          response_content=XML, tags=("wechat pay",), errors=(413,))
async def refund_notify(request: Request):
    return _answer(await payments.handle_refund_notification(await _body(request), request.headers, "v2"))


@bp.post("/pay/wechat/v3/notify", stream=True)
@endpoint(summary="WeChat Pay APIv3 payment notification (JSON, Wechatpay-* signature headers, resource "
                  "AEAD_AES_256_GCM); 200 {code: SUCCESS} or 4xx/5xx {code: FAIL, message}",
          request_content=JSON, response_content=JSON, tags=("wechat pay",), errors=(400, 401, 404, 413, 429))
async def notify_v3(request: Request):
    return _answer(await payments.handle_pay_notification(await _body(request), request.headers, "v3"))


@bp.post("/pay/wechat/v3/refund-notify", stream=True)
@endpoint(summary="WeChat Pay APIv3 refund notification", request_content=JSON, response_content=JSON,
          tags=("wechat pay",), errors=(400, 401, 404, 413, 429))
async def refund_notify_v3(request: Request):
    return _answer(await payments.handle_refund_notification(await _body(request), request.headers, "v3"))


@bp.post("/pay/wechat/v3/transfer-notify", stream=True)
@endpoint(summary="WeChat Pay APIv3 transfer (商家转账) final-state notification", request_content=JSON,
          response_content=JSON, tags=("wechat pay",), errors=(400, 401, 404, 413, 429))
async def transfer_notify_v3(request: Request):
    return _answer(await payments.handle_transfer_notification(await _body(request), request.headers))
