"""The office's lists read each row's names in the same statement as the page (a join, not a lookup
after it): each list still carries the names it showed, and a row without the related object (a
complaint without an order) still has none."""
from __future__ import annotations

import secrets
from datetime import timedelta

from tests.fulfillment import factories as f


async def test_complaints_carry_their_order_number(client):
    from server.complaints import service as complaints
    from server.complaints.schemas import ComplaintQuery
    from server.kit import clock
    from server.models.complaints import Complaint
    from tests.conftest import login

    buyer = await login(client)
    _, skus = await f.merchant_with_skus(1)
    order = await f.paid_order(buyer.id, [(skus[0], 1)])
    due = clock.now() + timedelta(days=1)
    made = {}
    for key, order_id in (("with", order.id), ("without", None)):
        c = await Complaint.create(no="TS" + secrets.token_hex(6), kind="quality", channel="buyer", text="小米发霉了",
                                   order_id=order_id, town="测试镇", ack_due_at=due, resolve_due_at=due)
        made[key] = c.id
    listed = {c.id: c for c in (await complaints.office_list(ComplaintQuery(limit=10))).items}
    assert listed[made["with"]].order_no == order.order_no
    assert listed[made["without"]].order_no is None


async def test_reviews_and_certificates_carry_product_and_merchant_names(app):
    from server.catalog import service as catalog
    from server.kit import clock
    from server.models.catalog import Certification, Product
    from server.models.catalog_reviews import ProductReview

    m, skus = await f.merchant_with_skus(1)
    p = await Product.get(id=skus[0].product_id)
    rev = await ProductReview.create(product_id=p.id, merchant_id=m.id, kind="listing", status="pending")
    page = await catalog.review_queue("pending", None, 100, q=p.name)
    assert [(r.id, r.product_name, r.merchant_name) for r in page.items] == [(rev.id, p.name, m.name)]
    # expired long ago: first in the soonest-first list
    cert = await Certification.create(product_id=p.id, kind="green", number="LB-" + secrets.token_hex(3),
                                      expires_on=clock.local_today() - timedelta(days=3000))
    got = next(c for c in (await catalog.expiring_certificates(0, None, 200)).items if c.id == cert.id)
    assert (got.product_name, got.product_status, got.merchant_id, got.merchant_name, got.expired) == (
        p.name, p.status, m.id, m.name, True)


async def test_breaches_uploads_and_ratings_carry_their_labels_and_names(client):
    from server.fulfillment import service, shipping, sla
    from server.fulfillment.schemas import BreachQuery
    from server.kit import clock
    from server.models.fulfillment import DeliveryPromise, Parcel
    from server.models.orders import OrderLine
    from server.models.line_reviews import LineReview
    from server.reviews import service as reviews
    from server.reviews.schemas import ReviewListQuery
    from tests.conftest import login

    buyer = await login(client)
    net = await f.network()
    m, skus = await f.merchant_with_skus(1)
    order = await f.paid_order(buyer.id, [(skus[0], 1)], station=net.village)
    task_id = await service.handoff(order.id)
    parcel = await Parcel.create(label="P" + secrets.token_hex(6).upper(), task_id=task_id, order_id=order.id,
                                 weight_g=1000, packed_at=clock.now())
    await DeliveryPromise.create(parcel_id=parcel.id, leg="county_town", due_at=clock.now() - timedelta(hours=1),
                                 breached_at=clock.now())
    got = next(b for b in (await sla.breaches(BreachQuery(open_only=True, limit=10))).items
               if b.parcel_id == parcel.id)
    assert (got.label, got.order_id) == (parcel.label, order.id)
    assert (await shipping.get_upload(task_id)).order_no == order.order_no
    line = await OrderLine.get(order_id=order.id)
    lr = await LineReview.create(line_id=line.id, order_id=order.id, buyer_id=buyer.id, merchant_id=m.id,
                                 product_id=line.product_id, product_stars=5, delivery_stars=5)
    got = next(r for r in (await reviews.office_reviews(ReviewListQuery(limit=10))).items if r.id == lr.id)
    assert got.product_name == line.product_name
