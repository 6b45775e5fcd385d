"""Desk labels: a QR code that opens the desk's check-in page, with the desk's name."""

from __future__ import annotations

from xml.sax.saxutils import escape

import qrcode
from qrcode.constants import ERROR_CORRECT_M


def checkin_url(server: str, building: str, desk: str) -> str:
    """The page a phone opens when it scans the desk's label."""
    return f"{server.rstrip('/')}/checkin/{building}/{desk}"


def _matrix(url: str) -> list[list[bool]]:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4)
    qr.add_data(url)
    qr.make(fit=True)
    return [list(row) for row in qr.get_matrix()]


def svg(url: str, title: str, subtitle: str) -> str:
    """A printable label (about 50 x 60 mm): the QR code and two lines of text."""
    m = _matrix(url)
    n = len(m)
    cell = 1.0
    text_h = 12
    rects = "".join(
        f'<rect x="{x * cell}" y="{y * cell}" width="{cell}" height="{cell}"/>'
        for y, row in enumerate(m)
        for x, dark in enumerate(row)
        if dark
    )
    w, h = n * cell, n * cell + text_h
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" '
        f'width="50mm" height="{50 * h / w:.1f}mm">'
        f'<rect width="{w}" height="{h}" fill="#fff"/><g fill="#000">{rects}</g>'
        f'<text x="{w / 2}" y="{n + 4}" font-family="sans-serif" font-size="4.2" '
        f'text-anchor="middle" font-weight="bold">{escape(title)}</text>'
        f'<text x="{w / 2}" y="{n + 9}" font-family="sans-serif" font-size="2.8" '
        f'text-anchor="middle">{escape(subtitle)}</text></svg>\n'
    )


def text(url: str) -> str:
    """The QR code in the terminal (two rows per line with half blocks)."""
    m = _matrix(url)
    if len(m) % 2:
        m.append([False] * len(m[0]))
    lines = []
    for top, bottom in zip(m[::2], m[1::2], strict=True):
        # Dark modules print as spaces on a light terminal cell, so the code reads on
        # dark-background terminals too (the quiet zone stays light).
        lines.append(
            "".join(
                {(False, False): "█", (True, False): "▄", (False, True): "▀", (True, True): " "}[
                    (t, b)
                ]
                for t, b in zip(top, bottom, strict=True)
            )
        )
    return "\n".join(lines)
