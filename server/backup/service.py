"""``smartoffice backup`` and ``smartoffice restore``: a deployment into one archive and back.

An archive holds the relational database, the reading store, the settings files the
operator names, and ``manifest.json``: the schema revision, each table's rows and digest,
each stream's points, and a SHA-256 of every part. A restore goes into an empty
deployment, refuses a wrong key, a damaged archive or a schema newer than this release,
and ends by checking what it restored against the manifest; an older schema is then
brought up to this release with the migrations.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import create_engine

from server.backup import readings, relational
from server.backup.archive import (
    FORMAT,
    SUFFIX,
    ArchiveError,
    Note,
    file_sha256,
    identities,
    note_path,
    recipients,
    seal,
    unseal,
)
from server.config import ServerSettings
from server.db import MIGRATIONS, init_schema
from server.services import build_store

MANIFEST = "manifest.json"
FILES = "files"
# The data_dir's own secret (when the server keeps its signing secret there) travels with
# the archive and comes back into the restored deployment's data_dir.
DATA_DIR_FILES = ("jwt-secret",)


@dataclass(frozen=True)
class Made:
    """An archive just written, and the old ones retention removed."""

    note: Note
    manifest: dict[str, Any]
    removed: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class Restored:
    """What a restore brought back, and any difference from the manifest."""

    manifest: dict[str, Any]
    files: list[Path]
    differences: list[str]
    migrated_from: str | None


async def backup(
    settings: ServerSettings,
    *,
    now: datetime,
    to: Path | None = None,
    keys: list[str] | None = None,
    include: list[Path] | None = None,
    with_readings: bool = True,
) -> Made:
    """Write one encrypted archive of the deployment; then drop archives past retention."""
    targets = recipients(keys if keys is not None else _keys(settings.backup_recipients))
    out_dir = to or settings.backups
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    archive = out_dir / f"smartoffice-{now.strftime('%Y%m%dT%H%M%SZ')}{SUFFIX}"
    with tempfile.TemporaryDirectory(prefix="smartoffice-backup-", dir=out_dir) as work:
        os.chmod(work, 0o700)
        staging = Path(work) / "content"
        staging.mkdir()
        db_file, schema, tables = relational.dump(settings.sqlalchemy_url, staging)
        if schema is None:
            raise ArchiveError("the database has no schema yet: there is nothing to back up")
        held: dict[str, Any] = {"kind": "skipped"}
        if with_readings:
            store = build_store(settings)
            try:
                held = await readings.dump(settings, store, staging)
            finally:
                await store.close()
        files = _gather(settings, staging, include or [])
        manifest = {
            "format": FORMAT,
            "created": now.isoformat(),
            "schema": schema,
            "relational": {
                "kind": relational.kind(settings.sqlalchemy_url),
                "file": db_file,
                "tables": tables,
            },
            "readings": held,
            "files": files,
            "parts": _checksums(staging),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        note = seal(staging, archive, targets, created=now, schema=schema)
    removed = prune(out_dir, now - timedelta(days=settings.backup_keep_days), keep=archive)
    return Made(note, manifest, removed)


def prune(directory: Path, before: datetime, *, keep: Path) -> list[Path]:
    """Delete archives (and their notes) made before ``before``, never ``keep``."""
    removed = []
    for archive in archives(directory):
        if archive.archive != keep and archive.created < before:
            archive.archive.unlink(missing_ok=True)
            note_path(archive.archive).unlink(missing_ok=True)
            removed.append(archive.archive)
    return removed


def archives(directory: Path) -> list[Note]:
    """The archives in ``directory`` with a readable note, oldest first."""
    if not directory.is_dir():
        return []
    notes = [Note.read(p) for p in directory.glob(f"*{SUFFIX}")]
    return sorted((n for n in notes if n is not None), key=lambda n: n.created)


async def restore(
    settings: ServerSettings, *, archive: Path, key_file: Path, files_into: Path | None = None
) -> Restored:
    """Bring ``archive`` back into the empty deployment ``settings`` describe."""
    keys = identities(key_file)
    with tempfile.TemporaryDirectory(prefix="smartoffice-restore-") as work:
        os.chmod(work, 0o700)
        unseal(archive, keys, Path(work))
        content = Path(work) / "content"
        manifest = _manifest(content)
        relational.refuse_unless_empty(settings.sqlalchemy_url)
        held = manifest["readings"]
        if held["kind"] != "skipped":
            await readings.refuse_unless_empty(settings)
        _put_back(settings, content, manifest["files"], files_into, dry=True)
        tables = relational.load(settings.sqlalchemy_url, content / manifest["relational"]["file"])
        differences = _differ_tables(manifest["relational"]["tables"], tables)
        if held["kind"] != "skipped":
            counted = await readings.load(settings, content, held)
            differences += _differ_points(held, counted)
        files = _put_back(settings, content, manifest["files"], files_into)
    migrated_from = None
    if not differences and manifest["schema"] != _head():
        migrated_from = manifest["schema"]
        engine = create_engine(settings.sqlalchemy_url)
        try:
            init_schema(engine)
        finally:
            engine.dispose()
    return Restored(manifest, files, differences, migrated_from)


def _keys(setting: str) -> list[str]:
    return [k for k in (part.strip() for part in setting.split(",")) if k]


def _gather(settings: ServerSettings, staging: Path, include: list[Path]) -> list[dict[str, Any]]:
    """Copy the named settings files (and the data_dir's secret) into the archive."""
    out = []
    (staging / FILES).mkdir()
    own = [settings.data_dir / name for name in DATA_DIR_FILES]
    for n, path in enumerate([*[p for p in own if p.is_file()], *include]):
        if not path.is_file():
            raise ArchiveError(f"{path} (to include) is not a file")
        name = f"{n:02d}-{path.name}"
        shutil.copy2(path, staging / FILES / name)
        out.append(
            {
                "name": name,
                "from": str(path.resolve()),
                "data_dir": path.name if path in own else None,
                "mode": path.stat().st_mode & 0o777,
            }
        )
    return out


def _checksums(staging: Path) -> dict[str, str]:
    return {
        str(p.relative_to(staging)): file_sha256(p)
        for p in sorted(staging.rglob("*"))
        if p.is_file()
    }


def _head() -> str:
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def _manifest(content: Path) -> dict[str, Any]:
    """The archive's manifest, once its parts, format and schema are known to be usable."""
    try:
        manifest: dict[str, Any] = json.loads((content / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise ArchiveError(f"the archive has no readable manifest: {exc}") from exc
    if manifest.get("format", 0) > FORMAT:
        raise ArchiveError(
            f"the archive is of format {manifest.get('format')}, newer than this release "
            f"reads ({FORMAT}): restore it with the release that made it"
        )
    for part, digest in manifest["parts"].items():
        path = content / part
        if not path.is_file() or file_sha256(path) != digest:
            raise ArchiveError(f"the archive is damaged: {part} is missing or differs")
    try:
        ScriptDirectory(str(MIGRATIONS)).get_revision(manifest["schema"])
    except CommandError as exc:
        raise ArchiveError(
            f"the archive's database schema ({manifest['schema']}) is newer than this "
            f"release knows (newest: {_head()}): restore it with the release that made it, "
            "or a newer one"
        ) from exc
    return manifest


def _differ_tables(want: dict[str, Any], got: dict[str, Any]) -> list[str]:
    out = []
    for name in sorted(want.keys() | got.keys()):
        w, g = want.get(name), got.get(name)
        if w is None or g is None:
            out.append(f"table {name}: {'missing' if g is None else 'not in the archive'}")
        elif w != g:
            out.append(f"table {name}: {g['rows']} rows restored, the archive held {w['rows']}")
            if w["rows"] == g["rows"]:
                out[-1] += " (same count, different content)"
    return out


def _differ_points(held: dict[str, Any], got: dict[str, int]) -> list[str]:
    out = []
    for key in sorted(held["at_least"].keys() | got.keys()):
        low, high = held["at_least"].get(key, 0), held["at_most"].get(key, 0)
        if not low <= got.get(key, 0) <= high:
            span = str(low) if low == high else f"{low}..{high}"
            out.append(f"readings {key}: {got.get(key, 0)} restored, the archive held {span}")
    return out


def _put_back(
    settings: ServerSettings,
    content: Path,
    files: list[dict[str, Any]],
    into: Path | None,
    *,
    dry: bool = False,
) -> list[Path]:
    """Write the archived files back, never over a different file.

    The data_dir's own go into the new data_dir, the named ones into ``into`` (or where
    they came from); ``dry`` only checks that they can be.
    """
    written = []
    for item in files:
        if item["data_dir"]:
            target = settings.data_dir / item["data_dir"]
        elif into is not None:
            target = into / Path(item["from"]).name
        else:
            target = Path(item["from"])
        source = content / FILES / item["name"]
        if target.exists() and file_sha256(target) != file_sha256(source):
            raise ArchiveError(
                f"{target} exists and differs from the archived copy: give --files-into "
                "a directory to restore the settings files into"
            )
        if dry:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        os.chmod(target, item["mode"])
        written.append(target)
    return written
