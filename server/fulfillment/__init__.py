"""County warehouse fulfilment and three-level logistics (issue 6)."""
