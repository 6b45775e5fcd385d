"""The docs name only what exists: every module, file and test they point at is there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ["docs/architecture.md", "docs/security.md"]
# `server/x.py`, `edge/x.py`, `tests/.../x.py`, a folder like `server/web/static/`.
PATH = re.compile(
    r"`((?:server|edge|contracts|firmware|smartoffice|harness|bench|tests)/[\w/.-]+)`"
)
MODULE = re.compile(r"`((?:server|edge|contracts|smartoffice)(?:\.\w+)+)")
TEST = re.compile(r"`(test_\w+?)\*?`")


def _exists_as_module(dotted: str) -> bool:
    parts = dotted.split(".")
    for n in range(len(parts), 0, -1):  # a module, or an attribute of one (a.b.func)
        base = ROOT.joinpath(*parts[:n])
        if base.with_suffix(".py").exists() or (base / "__init__.py").exists():
            return True
    return False


@pytest.mark.parametrize("doc", DOCS)
def test_every_path_and_module_a_doc_names_exists(doc: str) -> None:
    text = (ROOT / doc).read_text()
    missing = [p for p in PATH.findall(text) if not (ROOT / p.rstrip("/")).exists()]
    missing += [m for m in MODULE.findall(text) if not _exists_as_module(m)]
    assert missing == []


def test_every_test_the_security_doc_cites_exists() -> None:
    text = (ROOT / "docs/security.md").read_text()
    sources = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("test_*.py"))
    cited = set(TEST.findall(text))
    assert cited, "no test cited"
    missing = [t for t in sorted(cited) if f"def {t}" not in sources]
    assert missing == []
