"""Livestream commerce (直播带货): rooms and sessions on Aliyun Live, product tie-ins with live price and
flash quota, on-air selling through the orders source hook, attribution and commission, real-time
figures, websocket fan-out. Builds on server/; server/ never imports it."""
