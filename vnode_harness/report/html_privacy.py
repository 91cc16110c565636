"""Keep the Allure HTML report from calling anyone when it is opened.

The allure 3 generator's `awesome` report embeds a Google Analytics tag (`analyticsEnable: true` is
hard-coded in `@allurereport/plugin-awesome`; only the `allure2` plugin honours `ALLURE_NO_ANALYTICS`),
so a vendor's report would tell a third party each time a reviewer opens it. The tag is removed from
every generated HTML file, and a file that still names an external address is refused, so a newer
generator that adds another tag fails loudly instead of leaking. A plain link (the executor's CI job
in the report's data, say) is no call: only what the browser loads by itself is refused.
"""

from __future__ import annotations

import re
from pathlib import Path

NO_ANALYTICS_ENVIRONMENT = {"ALLURE_NO_ANALYTICS": "true"}
"""What the generator's plugins that do have the switch read."""

XML_NAMESPACES = frozenset(
    {
        "http://www.w3.org/2000/svg",
        "http://www.w3.org/1999/xlink",
        "http://www.w3.org/1999/xhtml",
    }
)
"""Names of XML vocabularies inside inline SVG: identifiers a browser never fetches."""

_EXTERNAL = r"""\s*=\s*["']?\s*(?:https?:)?//[^\s"'>]*"""
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>\s*", re.IGNORECASE | re.DOTALL)
_EXTERNAL_SRC = re.compile(r"""\bsrc\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)
_TRACKER = re.compile(r"\b(?:gtag|dataLayer|googletagmanager|google-analytics)\b", re.IGNORECASE)
_LOADS = (
    re.compile(
        r"<(?:script|img|iframe|audio|video|source|embed|track)\b[^>]*?\bsrc" + _EXTERNAL,
        re.IGNORECASE,
    ),
    re.compile(r"<link\b[^>]*?\bhref" + _EXTERNAL, re.IGNORECASE),
    re.compile(r"""url\(\s*["']?\s*(?:https?:)?//[^\s"')]*""", re.IGNORECASE),
    re.compile(r"""@import\s+["']\s*(?:https?:)?//[^\s"']*""", re.IGNORECASE),
    _TRACKER,
)
"""What makes a browser contact another host when a page opens: an external script, frame, media or
stylesheet, a CSS url() or @import; and any analytics call."""
_URL = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}[^\s"'<>)]*""", re.IGNORECASE)


def strip_analytics(html: str) -> str:
    """`html` without scripts loaded from another host or mentioning a tracker (gtag, dataLayer)."""

    def keep(match: re.Match[str]) -> str:
        script = match.group(0)
        opening = script[: script.index(">") + 1]
        return "" if _EXTERNAL_SRC.search(opening) or _TRACKER.search(script) else script

    return _SCRIPT.sub(keep, html)


def external_urls(html: str) -> list[str]:
    """Every absolute or protocol-relative URL in `html` except XML namespace names, in order."""
    return [url for url in _URL.findall(html) if url.rstrip("/") not in XML_NAMESPACES]


def external_loads(html: str) -> list[str]:
    """What in `html` a browser would fetch from another host (or send to a tracker) on opening it."""
    return [match.group(0)[:120] for pattern in _LOADS for match in pattern.finditer(html)]


def make_private(report_dir: Path) -> list[str]:
    """Strip the analytics from every HTML file under `report_dir`; return `file: what` for each external
    load left (none: the report contacts nobody when opened)."""
    left: list[str] = []
    for page in sorted(report_dir.rglob("*.html")):
        html = page.read_text(encoding="utf-8")
        private = strip_analytics(html)
        if private != html:
            page.write_text(private, encoding="utf-8")
        left.extend(f"{page.relative_to(report_dir)}: {load}" for load in external_loads(private))
    return left
