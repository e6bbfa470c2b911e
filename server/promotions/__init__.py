"""Promotions (营销, issue #28): coupons and festival campaigns.

service.py: coupon definitions (office: platform-funded; merchants: their own), claims with no
over-issue (a guarded update of issued_count, like stock), the checkout pricing step (prices the
coupons a checkout names, spends them once with a guarded update, splits each saving over the lines
to the fen and records who funds it), and the release on cancel / full refund.
campaigns.py: festival campaigns (节庆活动) built by the office, the mini-program's cached page, figures.
"""
