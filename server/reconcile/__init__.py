"""Daily reconciliation of our payments and refunds with WeChat Pay's trade bill."""
