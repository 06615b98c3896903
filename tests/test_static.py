"""What static/ serves never points off site: orfi runs on closed networks."""

from __future__ import annotations

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "static"
#: XML namespace names are identifiers, never fetched.
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
#: Provenance notes of vendored packages (npm tarball addresses), not served assets.
NOTES = {"VERSION", "LICENSE", "NOTICE", "README.md"}
ADDRESS = re.compile(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s\"'<>)]*", re.IGNORECASE)


def test_no_file_served_from_static_names_an_outside_address():
    found = {}
    for path in STATIC.rglob("*"):
        if not path.is_file() or path.name in NOTES:
            continue
        if path.suffix.lower() in {".png", ".jpg", ".jpeg", ".webp", ".ico", ".woff2"}:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        addresses = {
            a for a in ADDRESS.findall(text) if a.startswith(("http", "//"))
        } - NAMESPACES
        if addresses:
            found[str(path.relative_to(STATIC))] = sorted(addresses)[:3]
    assert found == {}


def test_leaflet_s_attribution_prefix_is_plain_text():
    """Every map keeps Leaflet's default prefix, a link to its website upstream."""
    leaflet = (STATIC / "vendor" / "leaflet" / "leaflet.js").read_text()
    assert 'prefix:"Leaflet"' in leaflet
