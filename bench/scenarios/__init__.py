"""Scenarios: one module per measurement; see bench/README.md for the API."""
