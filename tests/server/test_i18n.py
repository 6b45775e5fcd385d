"""Languages: the catalogue covers every string, and the API speaks the caller's language."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from babel.messages.pofile import read_po

from server.i18n import T, gettext, negotiate, say

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "server" / "locale" / "id" / "LC_MESSAGES" / "messages.po"


def extracted(tmp_path: Path) -> set[str]:
    """Every message the code and templates mark, as `make messages` extracts them."""
    pot = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run(
        [
            str(pybabel),
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "--no-default-keywords",
            "-k",
            "_",
            "-k",
            "T",
            "-k",
            "N_",
            "-k",
            "gettext:2",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    with pot.open("rb") as f:
        return {str(m.id) for m in read_po(f) if m.id}


def test_every_marked_string_has_its_indonesian_translation(tmp_path: Path) -> None:
    marked = extracted(tmp_path)
    assert len(marked) > 150
    with CATALOGUE.open("rb") as f:
        catalogue = {str(m.id): str(m.string) for m in read_po(f, locale="id") if m.id}
    assert sorted(marked - catalogue.keys()) == [], "run `make messages` and translate"
    untranslated = [k for k in marked if not catalogue[k]]
    assert untranslated == []
    # A translation keeps the message's placeholders, or filling it in would fail.
    fields = re.compile(r"\{(\w+)\}")
    wrong = [k for k in marked if set(fields.findall(k)) != set(fields.findall(catalogue[k]))]
    assert wrong == []


@pytest.mark.parametrize(
    ("header", "choice", "expected"),
    [
        (None, None, "id"),
        ("en-US,en;q=0.9", None, "en"),
        ("fr-FR,en;q=0.5", None, "en"),
        ("en;q=0.4,id;q=0.8", None, "id"),
        ("de", None, "id"),
        ("en", "id", "id"),  # the person's choice wins over the browser
        ("not a header;q=x", None, "id"),
    ],
)
def test_the_language_is_the_persons_then_the_browsers_then_indonesian(
    header: str | None, choice: str | None, expected: str
) -> None:
    assert negotiate(header, choice) == expected


def test_a_message_is_english_as_text_and_translated_when_said() -> None:
    message = T("desk {space} is not bookable", space="d-3-001")
    assert str(message) == "desk d-3-001 is not bookable"
    assert message.said("id") == "meja d-3-001 tidak dapat dipesan"
    assert say(message, "en") == str(message)
    assert gettext("xx", "Today") == "Today"


def test_the_api_says_a_refusal_in_the_language_asked(tmp_path: Path) -> None:
    from harness.layouts import one_floor
    from harness.platform import Platform

    p = Platform(tmp_path, {}, gateway_id="gw-i18n")
    p.register([], building="kantor-i")
    p.start_server()
    try:
        assert p.api(
            "PUT", "/api/v1/buildings/kantor-i/layout", json=one_floor("kantor-i", "l1", ["a1"])
        ).is_success
        slot = {
            "building": "kantor-i",
            "desk": "a1",
            "start": "2026-12-01T10:00",
            "end": "2026-12-01T09:00",
        }
        english = p.api("POST", "/api/v1/bookings", "employee", json=slot)
        assert english.status_code == 422
        assert english.json()["detail"] == "the end must be after the start"
        said = p.api(
            "POST",
            "/api/v1/bookings",
            "employee",
            json=slot,
            headers={"Accept-Language": "id-ID,id;q=0.9"},
        )
        assert said.json() == {"detail": "waktu selesai harus setelah waktu mulai", "rule": "slot"}
        # Not allowed, not logged in, not found: said in the language asked, too.
        ask_id = {"Accept-Language": "id"}
        report = p.api(
            "GET",
            "/api/v1/reports/utilization",
            "employee",
            headers=ask_id,
            params={"building": "kantor-i", "start": "2026-12-01", "end": "2026-12-02"},
        )
        assert report.status_code == 403
        assert report.json()["detail"] == (
            "ini memerlukan peran Pengelola fasilitas instansi, Pengelola fasilitas, "
            "Administrator instansi atau Administrator; peran Anda Pegawai"
        )
        anonymous = httpx.get(f"{p.server.url}/api/v1/bookings", headers=ask_id)  # type: ignore[union-attr]
        assert anonymous.status_code == 401 and anonymous.json()["detail"].startswith("belum masuk")
        # The person's own choice holds whatever the client sends.
        assert p.api("PATCH", "/api/v1/auth/me", "employee", json={"language": "id"}).is_success
        chosen = p.api(
            "POST", "/api/v1/bookings", "employee", json=slot, headers={"Accept-Language": "en"}
        )
        assert chosen.json()["detail"] == "waktu selesai harus setelah waktu mulai"
        missing = p.api("GET", "/api/v1/bookings/999999", "employee")
        assert missing.status_code == 404
        assert missing.json()["detail"] == "tidak ada pemesanan 999999"
    finally:
        p.stop()
