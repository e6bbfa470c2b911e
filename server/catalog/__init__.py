"""Catalog (商品) and storefront — overview.

States: draft -> pending (submitted, a ProductReview of kind "listing") -> on_sale | rejected;
on_sale -> off_shelf (the merchant's 下架, or the county's 监管 takedown with a reason the merchant
sees). A draft, rejected or off-shelf product is edited freely and submitted again.

Re-review: on an on-sale product, a change of name, category, images, brand or certificates, or a
SKU price cut of more than half, is queued in one open ProductReview of kind "revision" (merged when
edited again); the approved version stays on sale until the county approves (then the snapshot is
applied) or rejects (the reason is shown; nothing changes). Subtitle, description, origin, stock,
price rises and small cuts apply at once.

Consumer reads (server/catalog/query.py) filter on Product.visible, a denormalised
"on_sale and merchant active" kept by refresh_derived() and merchant suspension, with indexes per
sort (visible, [category,] newest|min_price|sales, id) and keyset cursors that end on id. A parent
category includes its children. Stock shows as in_stock / low / sold_out, never a count.

Search: Product.search_text (lower-cased name, subtitle, category, brand label, origin, merchant)
and LIKE '%kw%' on both SQLite and PostgreSQL, ranked in two tiers (keyword in the name first, then
elsewhere; best sellers first within a tier), each tier its own keyset scan. With a sort other than
relevance the LIKE filters an index walk that stops after one page for a common keyword; a rare
keyword walks every visible row (not measured at 100,000 rows: the bench's keywords are common). On
PostgreSQL a
trigram index (CREATE EXTENSION pg_trgm; CREATE INDEX ... USING gin (search_text gin_trgm_ops)
WHERE visible) would help rare keywords of 3+ characters, but most Chinese keywords are 2
characters, which trigrams do not narrow, so it is not part of the schema (migrations are central).

Caching (server/catalog/cache.py): Redis entries under namespace versions plus a few seconds of
in-process L1 dropped through Redis pub/sub. invalidate_product(product_id) is the hook for other
capabilities (orders call it when a SKU crosses zero). Checkout reads the database, never the cache.
"""
