"""The tests mirror the packages: the test of ``server/bookings/rooms.py`` is
``tests/server/bookings/test_rooms.py`` (or ``test_rooms_<aspect>.py``), found without grep.

A few suites test a whole (every page, every API operation, the system end to end); they
are named here with what they cover, and everything else must name the module it tests.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
# Where each tree of tests looks for the modules it names.
MIRRORS = {
    "tests/server": "server",
    "tests/web": "server/web",
    "tests/edge": "edge",
    "tests/contracts": "contracts",
    "tests/smartoffice": "smartoffice",
    "tests/firmware": "firmware/lib",
}
# Whole-system suites: a directory of them, or one file, and what it covers.
WHOLES = {
    "tests/e2e": "the data path end to end: firmware, broker, gateway, server, stores",
    "tests/deploy": "the deployments: docker compose, the host recipe, broker logins",
    "tests/test_docs.py": "the documentation names only what exists",
    "tests/test_mirror.py": "this rule",
    "tests/server/test_hardening.py": "the whole server as a security review tried it",
    "tests/server/test_authorization.py": "every API route × role × own and other agency",
    "tests/server/api/test_fuzz.py": "every operation of the API (schemathesis)",
    "tests/web/test_employee_app.py": "an employee's day across the pages",
    "tests/web/test_page_inputs.py": "every page's inputs at their extremes",
    "tests/web/test_page_rules.py": "every page keeps its API route's rule",
    "tests/web/test_routes.py": "every page route declares its gate",
    "tests/web/test_screens.py": "every page at 390 px, 1280 px and 800x480",
    "tests/web/test_zones.py": "each building's time zone across the pages",
    "tests/firmware/test_contract_and_build.py": "every firmware file: the contract, mpy-cross",
    "tests/firmware/test_drivers.py": "the sensor drivers (ld2410, pzem, scd4x, doorcount)",
}


def _tested(test: Path) -> Path | None:
    """The module (or package) ``test`` is named for, or None when there is none."""
    rel = test.relative_to(ROOT)
    for tree, source in MIRRORS.items():
        if rel.is_relative_to(tree):
            where = ROOT / source / rel.parent.relative_to(tree)
            words = test.stem.removeprefix("test_").split("_")
            for n in range(len(words), 0, -1):
                name = "_".join(words[:n])
                for found in (where / f"{name}.py", where / name / "__init__.py"):
                    if found.exists():
                        return found
    return None


def _test_files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("test_*.py") if "__pycache__" not in p.parts)


def test_every_test_names_the_module_it_tests() -> None:
    wholes = [ROOT / w for w in WHOLES]
    strays = [
        str(t.relative_to(ROOT))
        for t in _test_files()
        if not any(t == w or t.is_relative_to(w) for w in wholes) and _tested(t) is None
    ]
    assert strays == [], (
        "these tests name no module where they stand (mirror the package, or add the suite "
        f"to WHOLES with what it covers): {strays}"
    )


def test_every_suite_named_as_a_whole_exists() -> None:
    assert [w for w in WHOLES if not (ROOT / w).exists()] == []
