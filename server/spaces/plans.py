"""Floor plans as people upload them: raster types checked by content, SVG made inert.

A plan is shown to every employee, so an uploaded SVG must not be able to run a script,
load anything from elsewhere, or read local files. It is parsed by defusedxml (no DTDs,
entities or external references), and rebuilt keeping only drawing elements and
presentation attributes; links may only point inside the document or at an embedded
raster image. Plans are also served with a Content-Security-Policy that forbids scripts
and remote loads, and with ``nosniff``, in case anything slipped through.
"""

from __future__ import annotations

import re
from typing import Final
from xml.etree import ElementTree as ET  # noqa: S405  (only to serialise; parsing is defused)

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from server.exceptions import LayoutError

SVG_NS: Final = "http://www.w3.org/2000/svg"
XLINK_NS: Final = "http://www.w3.org/1999/xlink"
# What a floor plan draws with. Everything else (script, foreignObject, animation that
# could rewrite a link, iframes) is dropped with its content.
ELEMENTS: Final = frozenset(
    (
        "svg",
        "g",
        "defs",
        "symbol",
        "use",
        "title",
        "desc",
        "metadata",
        "path",
        "rect",
        "circle",
        "ellipse",
        "line",
        "polyline",
        "polygon",
        "text",
        "tspan",
        "textPath",
        "image",
        "clipPath",
        "mask",
        "pattern",
        "marker",
        "linearGradient",
        "radialGradient",
        "stop",
        "style",
        "switch",
        "a",
    )
)
# Any attribute or style sheet: no event handlers, imports or references outside the file.
_EVENT: Final = re.compile(r"^on", re.IGNORECASE)
_UNSAFE_STYLE: Final = re.compile(
    r"(@import|expression\s*\(|javascript:|url\(\s*['\"]?\s*(?!#|data:image/(png|jpeg|gif);))",
    re.IGNORECASE,
)
_SAFE_LINK: Final = re.compile(r"^\s*(#[\w.:-]+|data:image/(png|jpeg|gif);base64,[\w+/=\s]+)\s*$")
PNG: Final = b"\x89PNG\r\n\x1a\n"
# Served with every plan: no script, nothing loaded from anywhere, not even from us.
PLAN_CSP: Final = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"
JPEG: Final = b"\xff\xd8\xff"

ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)


def checked_plan(data: bytes, kind: str) -> bytes:
    """The plan to keep: a PNG or JPEG as it is (if it is one), an SVG made inert."""
    if kind == "image/png":
        if not data.startswith(PNG):
            raise LayoutError("plan: the file is not a PNG (its first bytes say otherwise)")
        return data
    if kind == "image/jpeg":
        if not data.startswith(JPEG):
            raise LayoutError("plan: the file is not a JPEG (its first bytes say otherwise)")
        return data
    if kind == "image/svg+xml":
        return inert_svg(data)
    raise LayoutError(f"plan: unsupported type {kind!r}")


def inert_svg(data: bytes) -> bytes:
    """The SVG with scripts, event handlers and outside references removed."""
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise LayoutError(f"plan: SVG with a DTD or entities is refused ({exc})") from exc
    except ET.ParseError as exc:
        raise LayoutError(f"plan: not well-formed SVG ({exc})") from exc
    if _local(root.tag) != "svg" or _ns(root.tag) != SVG_NS:
        raise LayoutError("plan: the document's root is not an <svg> element")
    _clean(root)
    out: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return out


def _ns(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _local(tag: str) -> str:
    return tag.split("}", 1)[-1]


def _clean(element: ET.Element) -> None:
    for name in list(element.attrib):
        value = element.attrib[name]
        local = _local(name)
        if (
            _EVENT.match(local)
            or (local == "href" and not _SAFE_LINK.match(value))
            or _UNSAFE_STYLE.search(value)  # fill="url(http://...)" loads from elsewhere too
            or _ns(name) not in ("", XLINK_NS, "http://www.w3.org/XML/1998/namespace")
        ):
            del element.attrib[name]
    for child in list(element):
        tag = child.tag if isinstance(child.tag, str) else ""
        if (
            _ns(tag) != SVG_NS
            or _local(tag) not in ELEMENTS
            or (_local(tag) == "style" and _UNSAFE_STYLE.search(child.text or ""))
        ):
            element.remove(child)
        else:
            _clean(child)
