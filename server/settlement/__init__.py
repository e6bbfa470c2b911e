"""Settlement (结算): the fee terms an order line is paid under, and the settlement run that turns
settleable ledger entries into per-period statements for merchants, stations and livestreamers.

terms.py     fee terms per merchant / station with effective dates; recorded on order lines at payment
service.py   periods, the settlement run (idempotent, race-safe), statements and their xlsx
schemas.py   API shapes
documents.py payees' names, the statement as a PDF (the printed page, server/integrations/chromium.py)
Station cash hand-over is server/cash; live selling consent is server/consent.
(Not yet: payouts, bank batches, payee details; see README.)"""
