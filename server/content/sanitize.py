"""The allow-list sanitiser every piece of office-written HTML passes through before it is stored
(nh3, the Rust ammonia sanitiser): what is not on the list is dropped, a script's and a style's
content with it; links get rel="noopener noreferrer"; only http(s) and mailto URLs survive.

plain_text() is its companion for fields that are text, not HTML (an article's title and summary, a
buyer's review, a merchant's reply): no markup at all survives, whatever page or answer shows them."""
from __future__ import annotations

import html

import nh3

TAGS = frozenset({"p", "br", "strong", "b", "em", "i", "u", "s", "h2", "h3", "h4", "blockquote", "ul", "ol",
                  "li", "a", "img", "hr", "span", "div", "table", "thead", "tbody", "tr", "th", "td"})
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"}, "td": {"colspan", "rowspan"},
              "th": {"colspan", "rowspan"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
MAX_HTML = 200_000


def clean_html(raw: str) -> str:
    """The allowed subset of raw (an article's body from the console's editor)."""
    return nh3.clean(raw or "", tags=set(TAGS), attributes={k: set(v) for k, v in ATTRIBUTES.items()},
                     url_schemes=set(URL_SCHEMES), link_rel="noopener noreferrer",
                     strip_comments=True).strip()


def plain_text(raw: str) -> str:
    """Tags dropped (a script's or style's content with them), entities read back, and any angle
    bracket left made full-width: the result is text that no HTML context can run."""
    text = html.unescape(nh3.clean(raw or "", tags=set()))
    return text.replace("<", "＜").replace(">", "＞").strip()
