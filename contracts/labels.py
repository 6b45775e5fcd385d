"""Desk labels: a QR code that opens the desk's check-in page, with the desk's name.

Made by the installer's CLI and by the server's commissioning page alike; the check-in
URL is the server's ``/checkin/{building}/{desk}`` page.
"""

from __future__ import annotations

import textwrap
from xml.sax.saxutils import escape

import qrcode
from qrcode.constants import ERROR_CORRECT_M


def checkin_url(server: str, building: str, desk: str, key: str) -> str:
    """The page a phone opens when it scans the desk's label (``key``: the desk's secret)."""
    return f"{server.rstrip('/')}/checkin/{building}/{desk}?k={key}"


def _matrix(url: str) -> list[list[bool]]:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4)
    qr.add_data(url)
    qr.make(fit=True)
    return [list(row) for row in qr.get_matrix()]


def qr_svg(data: str) -> str:
    """Just the QR code of ``data`` as SVG (black on white, a module per unit)."""
    m = _matrix(data)
    n = len(m)
    rects = "".join(
        f'<rect x="{x}" y="{y}" width="1" height="1"/>'
        for y, row in enumerate(m)
        for x, dark in enumerate(row)
        if dark
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {n} {n}" '
        f'shape-rendering="crispEdges"><rect width="{n}" height="{n}" fill="#fff"/>'
        f'<g fill="#000">{rects}</g></svg>'
    )


def svg(url: str, title: str, lines: list[str]) -> str:
    """A printable label (50 mm wide): the QR code, the desk's name, and short lines.

    Each line is wrapped to the label's width, so nothing is cut off however long a
    floor's name is.
    """
    m = _matrix(url)
    n = len(m)
    title_size, size = 4.2, 2.8
    # Sans-serif glyphs average about 0.56 of the font size: what fits across the code.
    wrapped = [
        part for line in lines for part in textwrap.wrap(line, max(8, int(n / (size * 0.56))))
    ]
    rects = "".join(
        f'<rect x="{x}" y="{y}" width="1" height="1"/>'
        for y, row in enumerate(m)
        for x, dark in enumerate(row)
        if dark
    )
    w, h = n, n + 6 + 3.6 * len(wrapped)
    texts = "".join(
        f'<text x="{w / 2}" y="{n + 8.5 + 3.6 * i:.1f}" font-family="sans-serif" '
        f'font-size="{size}" text-anchor="middle">{escape(part)}</text>'
        for i, part in enumerate(wrapped)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h:.1f}" '
        f'width="50mm" height="{50 * h / w:.1f}mm">'
        f'<rect width="{w}" height="{h:.1f}" fill="#fff"/><g fill="#000">{rects}</g>'
        f'<text x="{w / 2}" y="{n + 3.5}" font-family="sans-serif" font-size="{title_size}" '
        f'text-anchor="middle" font-weight="bold">{escape(title)}</text>{texts}</svg>\n'
    )


CAPTION = ("Pindai untuk check-in", "Scan to check in")


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
