"""County warehouse fulfilment and three-level logistics (县仓履约, 县 → 乡镇 → 村; issue 6).

Flow
  paid order --(job "fulfillment.handoff", cron sweeper)--> FulfillmentTask (order: in_fulfilment)
  task: pending -> picking (pick scans: SKU + received batch) -> packed (every unit in a parcel)
        -> shipped (no parcel left in the warehouse; WeChat shipping info uploaded once)
  parcel (forward): packed -> in_transit <-> at_station ... -> ready_for_pickup (handed over at the
        pickup station: stations.receive_at_station issues the pickup code)
        | out_for_delivery -> delivered (buyer's proof-of-delivery code)
        | with_courier (outside the county: company + tracking number)
  parcel (return): the same route backwards with the same scans -> returned (stock restored)

Where the logic lives
  routing.py   routes from the station tree, delivery promises (same day / 24 h / 48 h)
  service.py   handoff, inbound notes (集采统储), waves, pick, pack, stock view
  scans.py     the scan state machine, order effects, returns, timelines, buyer tracking
  sla.py       promise bookkeeping, breach sweep, on-time rates
  shipping.py  WeChat upload_shipping_info: JSAPI orders only, retry lanes, final refusals to the office
  wms.py       the WMS outbox (signed webhook, retried) and the signed inbound status endpoint

Stock: Sku.stock is sellable, Sku.reserved is held by orders (the orders capability moves stock to
reserved at checkout). On hand = stock + reserved. Inbound receipts and returns received add to
stock; goods leaving the warehouse take from reserved; a packed parcel taken apart releases its
reservation. Every change is made by server/inventory (a guarded conditional update, journaled)
inside the transaction of the step; a SKU holding fewer reserved units than what is released or
leaves is refused (stock_inconsistent) on every path."""
