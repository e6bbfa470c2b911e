"""Payouts (提现/打款): payee details under maker–checker, payout batches (WeChat transfers to a
balance, bank batch files), and the settled, unpaid balance they never exceed."""
