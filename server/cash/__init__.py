"""Station cash hand-over (现金解缴): service.py (record, confirm, reject, what a station owes),
schemas.py (API shapes). The ledger moves only when the county centre confirms (server/ledger)."""
