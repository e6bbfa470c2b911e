"""Operational alerts as data (server/alerts/service.py)."""
