"""Text a buyer or a merchant typed, made plain (no markup survives to any page or API answer) and
screened against the office's sensitive-word list (敏感词, KAZUO_REVIEW_SENSITIVE_WORDS)."""
from __future__ import annotations

from server.content.sanitize import plain_text
from server.kit import runtime

__all__ = ["plain_text", "screen", "sensitive_words"]


def sensitive_words() -> list[str]:
    raw = runtime.settings().review_sensitive_words
    return [w.strip().lower() for w in raw.replace("，", ",").split(",") if w.strip()]


def screen(*texts: str) -> list[str]:
    """The listed words found in any of the texts (case-insensitive), in list order."""
    words = sensitive_words()
    joined = "\n".join(t.lower() for t in texts)
    return [w for w in words if w in joined]
