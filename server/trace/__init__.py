"""Product traceability (溯源, issue 9): 来源可追溯、去向可查询、风险可控制、责任可追究.

  service.py  batches (生产批次) and their lock once goods are sold; corrections appended, never
              overwritten; trace codes (batch code + serial item codes) and label sheets
  codes.py    code format (12 characters of Crockford base32, 60 random bits), QR PNG/SVG, label HTML
  public.py   the public view of a code (cached per batch), scan counting with coarse place,
              counterfeit flags, the inbound SMS lookup
  pages.py    GET /t/{code}: the server-rendered page (templates/)
  recall.py   where a batch went (from the warehouse's pick records) and recalls
  flags.py    the office's side of the flags

The warehouse records the batch of every picked line as the merchant's batch number (free text, the
same as on the inbound note). A Batch has that number, unique per merchant; picks are resolved to it
by (number, SKU of the batch's product) when "where it went" is computed — the pick itself is not
changed."""
