"""WeChat Pay: the prepay for the mini-program, and WeChat's payment and refund notifications."""
from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from server.kit.http import endpoint, read_body
from server.payments import service as payments
from server.payments.service import JsapiParamsOut

bp = Blueprint("mp_pay", url_prefix="/api/v1")
XML = {"text/xml": {"schema": {"type": "string"}}}


def client_ip(request: Request) -> str:
    return request.remote_addr or request.ip or "127.0.0.1"


@bp.post("/orders/<order_id:int>/pay")
@endpoint(summary="Create the WeChat prepay order (JSAPI) and return wx.requestPayment parameters",
          auth="user", response=JsapiParamsOut, tags=("orders",), errors=(409, 502))
async def pay(request: Request, principal, order_id: int):
    return await payments.create_jsapi_payment(principal.user_id, order_id, client_ip=client_ip(request))


def _xml(text: str) -> HTTPResponse:
    return HTTPResponse(text, content_type="text/xml; charset=utf-8")


# Streamed: a body over NOTIFY_MAX_BYTES is refused (413) before it is read, let alone stored.
@bp.post("/pay/wechat/notify", stream=True)
@endpoint(summary="WeChat Pay payment notification (signed XML; answered with SUCCESS/FAIL XML; "
                  "bodies over 64 KiB: 413)", request_content=XML, response_content=XML, tags=("wechat pay",),
          errors=(413,))
async def notify(request: Request):
    return _xml(await payments.handle_pay_notification(await read_body(request, payments.NOTIFY_MAX_BYTES)))


@bp.post("/pay/wechat/refund-notify", stream=True)
@endpoint(summary="WeChat Pay refund notification (req_info encrypted; bodies over 64 KiB: 413)",
          request_content=XML, response_content=XML, tags=("wechat pay",), errors=(413,))
async def refund_notify(request: Request):
    return _xml(await payments.handle_refund_notification(await read_body(request, payments.NOTIFY_MAX_BYTES)))
