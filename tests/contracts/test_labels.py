"""Desk labels: the whole caption fits on the label, however long the floor's name."""

from __future__ import annotations

import re

from contracts.labels import CAPTION, checkin_url, svg


def test_a_long_caption_wraps_instead_of_being_cut_off() -> None:
    url = checkin_url("https://kantor.ikn.go.id/", "kemenpan-a", "d-1-001", "Xk3-a9")
    assert url == "https://kantor.ikn.go.id/checkin/kemenpan-a/d-1-001?k=Xk3-a9"
    floor = "Lantai 12 · Sayap Utara Gedung Kementerian Koordinator"
    label = svg(url, "Meja d-1-001", [floor, *CAPTION])
    width = float(re.search(r'viewBox="0 0 (\S+) ', label).group(1))  # type: ignore[union-attr]
    lines = re.findall(r'font-size="2.8" text-anchor="middle">([^<]*)</text>', label)
    # Every word is there, in order, and no line is wider than the label.
    assert " ".join(lines).split() == " ".join([floor, *CAPTION]).split()
    assert len(lines) > 3
    assert all(len(line) * 2.8 * 0.56 <= width for line in lines)
    # The label is as tall as its lines: the last one is inside it.
    height = float(re.search(r'viewBox="0 0 \S+ (\S+)"', label).group(1))  # type: ignore[union-attr]
    last_y = max(float(y) for y in re.findall(r'<text x="\S+" y="(\S+)"', label))
    assert last_y < height
