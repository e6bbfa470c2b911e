"""Live selling consent (直播带货授权): service.py (proposals, the merchant's decision, the office's live
product pool 选品池, and the check live/ makes when a tie-in is attached or changed), schemas.py.
In server/ (not live/) because the console's pages use it and server/ never imports live/."""
