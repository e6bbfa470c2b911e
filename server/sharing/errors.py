"""Error codes of sharing (clients see them in error.code; catalogue: /docs/error-codes)."""
from __future__ import annotations

from server.kit.errors import DeclaredCode


class SharingCode(DeclaredCode):
    UNKNOWN_SHARE = "unknown_share", 422
    BAD_SCENE = "bad_scene", 422
    CAMPAIGN_ENDED = "campaign_ended", 409
