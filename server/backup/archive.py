"""The archive's envelope: a gzipped tar encrypted with age, and a cleartext note beside it.

age (https://age-encryption.org, through the ``pyrage`` bindings) encrypts to public keys:
the machine that makes backups holds only the recipients, and only the operator's private
key (the identity) opens an archive. The note beside each archive (``<archive>.json``)
names nothing personal: when it was made, the schema, its size and its SHA-256, so that
retention, the backup-age metric and a damage check need no key.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyrage

FORMAT = 1
SUFFIX = ".tar.gz.age"
CHUNK = 1 << 20


class ArchiveError(Exception):
    """An archive or a key that cannot be used, with what is wrong in words."""


@dataclass(frozen=True)
class Note:
    """What the cleartext note beside an archive says."""

    archive: Path
    created: datetime
    schema: str
    size: int
    sha256: str

    @classmethod
    def read(cls, archive: Path) -> Note | None:
        """The note beside ``archive``, or None when there is none (or it is unreadable)."""
        try:
            data = json.loads(note_path(archive).read_text())
            return cls(
                archive,
                datetime.fromisoformat(data["created"]),
                str(data["schema"]),
                int(data["size"]),
                str(data["sha256"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None


def note_path(archive: Path) -> Path:
    """Where an archive's note is."""
    return archive.with_name(archive.name + ".json")


def new_key() -> tuple[str, str]:
    """A new age key pair: (identity, kept secret by the operator; recipient, public)."""
    identity = pyrage.x25519.Identity.generate()
    return str(identity), str(identity.to_public())


def recipients(keys: list[str]) -> list[Any]:
    """Parse age public keys, saying which one is not one."""
    out = []
    for key in keys:
        try:
            out.append(pyrage.x25519.Recipient.from_str(key.strip()))
        except Exception as exc:  # pyrage raises its own RecipientError, or ValueError
            raise ArchiveError(
                f"{key.strip()[:12]}... is not an age public key (age1...): {exc}"
            ) from exc
    if not out:
        raise ArchiveError(
            "no key to encrypt to: set SMARTOFFICE_BACKUP_RECIPIENTS or give --recipient "
            "(`smartoffice backup-key` makes a key pair)"
        )
    return out


def identities(path: Path) -> list[Any]:
    """The age identities in a key file (lines ``AGE-SECRET-KEY-...``; comments skipped)."""
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise ArchiveError(f"cannot read the key file {path}: {exc.strerror}") from exc
    out = []
    for line in lines:
        if line.strip().startswith("AGE-SECRET-KEY-"):
            try:
                out.append(pyrage.x25519.Identity.from_str(line.strip()))
            except Exception as exc:
                raise ArchiveError(f"{path} holds a damaged age key: {exc}") from exc
    if not out:
        raise ArchiveError(f"{path} holds no age private key (a line AGE-SECRET-KEY-...)")
    return out


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read a chunk at a time."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def seal(staging: Path, archive: Path, keys: list[Any], *, created: datetime, schema: str) -> Note:
    """Pack ``staging`` into ``archive`` encrypted to ``keys``; the note goes beside it.

    The archive appears whole or not at all: it is written under a temporary name,
    flushed to disk and renamed, and only then is its note written.
    """
    plain = staging.parent / "plain.tar.gz"
    with tarfile.open(plain, "w:gz", compresslevel=6) as tar:
        for item in sorted(staging.iterdir()):
            tar.add(item, arcname=item.name)
    partial = archive.with_name(archive.name + ".partial")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with plain.open("rb") as src, os.fdopen(fd, "wb") as dst:
            pyrage.encrypt_io(src, dst, keys)
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(partial, archive)
    finally:
        plain.unlink(missing_ok=True)
        partial.unlink(missing_ok=True)
    note = Note(archive, created, schema, archive.stat().st_size, file_sha256(archive))
    body = {
        "format": FORMAT,
        "created": created.isoformat(),
        "schema": schema,
        "size": note.size,
        "sha256": note.sha256,
    }
    note_path(archive).write_text(json.dumps(body, indent=2) + "\n")
    return note


def unseal(archive: Path, keys: list[Any], into: Path) -> None:
    """Decrypt and unpack ``archive`` into ``into``, refusing a damaged one or a wrong key."""
    note = Note.read(archive)
    if not archive.is_file():
        raise ArchiveError(f"{archive} does not exist")
    if note is not None and (archive.stat().st_size, file_sha256(archive)) != (
        note.size,
        note.sha256,
    ):
        raise ArchiveError(
            f"{archive.name} is damaged: its size or SHA-256 differs from the note written "
            f"with it ({note.size} bytes); take an earlier archive or another copy"
        )
    fd, plain_name = tempfile.mkstemp(dir=into, suffix=".tar.gz")
    plain = Path(plain_name)
    try:
        with archive.open("rb") as src, os.fdopen(fd, "wb") as dst:
            pyrage.decrypt_io(src, dst, keys)
    except pyrage.DecryptError as exc:
        plain.unlink(missing_ok=True)
        if "No matching keys" in str(exc):
            raise ArchiveError(
                f"this key does not open {archive.name}: it was encrypted to another key"
            ) from exc
        raise ArchiveError(f"{archive.name} is damaged and cannot be decrypted: {exc}") from exc
    except OSError as exc:
        plain.unlink(missing_ok=True)
        raise ArchiveError(
            f"{archive.name} is damaged or incomplete (cut short?): it cannot be decrypted "
            f"to its end ({exc})"
        ) from exc
    try:
        with tarfile.open(plain, "r:gz") as tar:
            tar.extractall(into / "content", filter="data")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ArchiveError(
            f"{archive.name} is damaged: its contents do not unpack ({exc})"
        ) from exc
    finally:
        plain.unlink(missing_ok=True)
