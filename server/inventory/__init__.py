"""Inventory (库存): the one owner of every change to stock, reserved units and live quota, and the
stock journal (库存流水) that records each change with its reason and reference.

  service.py   reserve / release / ship / restock / adjust, to_live / from_live / live_take /
               live_give_back, checkout's SQL part (PostgreSQL), the journal query
  errors.py    StockRefused: the one refusal (409 out_of_stock, or stock_inconsistent)
  schemas.py   the journal as the API shows it

Counters: Sku.stock is sellable now; Sku.reserved is held by orders not yet shipped (on hand in the
county warehouse = stock + reserved); LiveTieIn.remaining is the unsold part of a live session's
quota, set aside from the shelf (LiveTieIn.quota counts everything ever set aside).

Under-reserved (one rule, every path): a SKU that holds fewer reserved units than an order's goods
that leave the warehouse (ship) or go back on the shelf (release: unpaid cancel, refund, task
stopped or shrunk, parcel taken apart) is refused with StockRefused `stock_inconsistent` (409) and the
whole transaction rolls back. It can only happen when the books are already wrong; going on would
hide that and make the counters drift further. Before, fulfillment/service.py logged and skipped it
(releasing nothing) while fulfillment/scans.py refused: a background job that meets it now fails
and is retried by its sweeper, with the error in the log, until the stock is put right.

Who calls what: orders (checkout reserve, unpaid cancel), orders/refunds (refund before the
warehouse), fulfillment (inbound, task cancel/shrink, ship, unpack, return), catalog (a new SKU's
units, the merchant's manual adjustment), live (tie-in quota to and from the shelf, the flash-sale
take and its give-back) and, through live's service, trace (a recall withdraws the tie-ins)."""
