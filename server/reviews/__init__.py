"""Buyers' reviews of order lines (评价): stars, text and photos after completion, one append, the
merchant's reply, the office's moderation and the ratings summed per product, merchant and station."""
