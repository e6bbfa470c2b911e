"""Sharing (分享): share posters with mini-program codes, and which share brought an order."""
