"""Pre-sale (预售) for the harvest (issue #28): offers the merchant proposes and the office approves,
checkout through the orders' source hooks (source kind "presale"), deposit and balance payments, the
balance deadline, and ship-from dates that hold the warehouse hand-off back."""
