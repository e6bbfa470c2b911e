"""The allow-list sanitiser of the office's HTML (server/content/sanitize.py) and the plain-text
cleaning of buyers' and merchants' words (server/reviews/text.py) against the usual vectors."""
from __future__ import annotations

import pytest

from server.content.sanitize import clean_html
from server.reviews.text import plain_text

VECTORS = [
    '<svg onload="alert(1)"><circle r="1"/></svg>',
    '<img src="x" onerror="alert(1)">',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="java&#x09;script:alert(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>',
    '<form action="https://evil.example"><input name="a"></form>',
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="x.swf"></object><embed src="x.swf">',
    '<!--<script>alert(1)</script>-->',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    '<base href="https://evil.example/"><meta http-equiv="refresh" content="0;url=https://evil.example">',
]


@pytest.mark.parametrize("raw", VECTORS)
def test_nothing_that_runs_survives_the_allow_list(raw):
    out = clean_html(raw).lower()
    for bad in ("<script", "onerror", "onload", "javascript", "data:", "<svg", "<iframe", "<object",
                "<embed", "<form", "<input", "style=", "<base", "<meta", "<math", "<style", "srcdoc"):
        assert bad not in out, (raw, out)


def test_the_allowed_formatting_stays():
    raw = ('<h2>标题</h2><p>一段<strong>加粗</strong>和<em>强调</em></p><ul><li>一</li></ul>'
           '<blockquote>引用</blockquote><a href="https://kazuo.example/a?b=1">链接</a>'
           '<img src="https://kazuo.example/p.jpg" alt="图">')
    out = clean_html(raw)
    for kept in ("<h2>标题</h2>", "<strong>加粗</strong>", "<em>强调</em>", "<li>一</li>", "<blockquote>",
                 'href="https://kazuo.example/a?b=1"', 'rel="noopener noreferrer"',
                 'src="https://kazuo.example/p.jpg"'):
        assert kept in out, (kept, out)


@pytest.mark.parametrize("raw", VECTORS + ["<script>alert(1)</script>好", "&lt;script&gt;alert(1)&lt;/script&gt;"])
def test_plain_text_has_no_markup(raw):
    out = plain_text(raw)
    assert "<" not in out and ">" not in out, out
