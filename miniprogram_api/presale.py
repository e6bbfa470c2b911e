"""Pre-sale (预售, issue #28) in the mini-program: a product's pre-sales, a pre-sale order's terms, the
balance payment and the deposit given back; the merchant proposes and follows their offers.
Checkout itself is POST /api/v1/orders with source {"kind": "presale", "offer_id": N, "mode": ...}."""
from sanic import Blueprint, Request

from miniprogram_api.pay import client_ip
from server.kit.auth import Role
from server.kit.http import endpoint
from server.payments import service as payments
from server.payments.service import JsapiParamsOut
from server.presale import service as presale
from server.presale.schemas import DepositRefundIn, OfferIn, OfferOut, OffersOut, PresaleOrderOut

bp = Blueprint("mp_presale", url_prefix="/api/v1")
TAGS = ("presale",)
MERCHANT_TAGS = ("merchant: presale",)
MANAGERS = (Role.merchant, Role.station_staff)


@bp.get("/products/<product_id:int>/presales")
@endpoint(summary="A product's pre-sales that have not ended (price, deposit, balance window, ship-from date)",
          response=OffersOut, tags=TAGS, errors=(404,))
async def product_presales(request: Request, product_id: int):
    return OffersOut(items=await presale.product_offers(product_id))


@bp.get("/presale/orders/<order_id:int>")
@endpoint(summary="My pre-sale order's terms and stage (deposit, balance, deadline, ship-from)", auth="user",
          response=PresaleOrderOut, tags=TAGS, errors=(404,))
async def my_presale_order(request: Request, principal, order_id: int):
    return await presale.order_info(order_id, buyer_id=principal.user_id)


@bp.post("/presale/orders/<order_id:int>/balance/pay")
@endpoint(summary="Pay the balance (尾款) of my deposit order: wx.requestPayment parameters", auth="user",
          response=JsapiParamsOut, tags=TAGS, errors=(404, 409, 502),
          description="409 presale_balance_not_open before the window, presale_balance_closed after the "
                      "deadline, presale_balance_already_paid when it was paid.")
async def pay_balance(request: Request, principal, order_id: int):
    await presale.order_info(order_id, buyer_id=principal.user_id)  # a foreign or ordinary order: 404
    return await payments.create_jsapi_payment(principal.user_id, order_id, client_ip=client_ip(request))


@bp.post("/presale/orders/<order_id:int>/deposit/refund")
@endpoint(summary="Give up my deposit order before the balance: the deposit is refunded, the order cancelled",
          auth="user", body=DepositRefundIn, response=PresaleOrderOut, tags=TAGS, errors=(404, 409))
async def refund_my_deposit(request: Request, principal, order_id: int, body: DepositRefundIn):
    return await presale.refund_deposit(order_id, buyer_id=principal.user_id, actor_id=principal.user_id,
                                        reason=body.reason)


@bp.get("/merchant/presales")
@endpoint(summary="My pre-sale offers", roles=MANAGERS, response=OffersOut, tags=MERCHANT_TAGS)
async def my_offers(request: Request, principal):
    return OffersOut(items=await presale.merchant_offers(principal.merchant_ids))


@bp.post("/merchant/presales")
@endpoint(summary="Propose a pre-sale of one of my SKUs (the office approves it)", roles=MANAGERS, body=OfferIn,
          response=OfferOut, status=201, tags=MERCHANT_TAGS, errors=(409, 422))
async def propose(request: Request, principal, body: OfferIn):
    return await presale.create_offer(principal.merchant_ids, body, actor_id=principal.user_id)


@bp.post("/merchant/presales/<offer_id:int>/end")
@endpoint(summary="Stop one of my pre-sales (orders placed keep their terms)", roles=MANAGERS, response=OfferOut,
          tags=MERCHANT_TAGS, errors=(404,))
async def end(request: Request, principal, offer_id: int):
    return await presale.end_offer(principal.merchant_ids, offer_id, actor_id=principal.user_id)
