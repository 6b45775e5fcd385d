"""``smartoffice backup``, ``restore`` and ``backup-key``: a deployment to an archive and back."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

import typer


def backup_key(
    out: Annotated[
        Path, typer.Option(help="Where to write the private key (made 0600); '-': print it.")
    ],
) -> None:
    """Make an age key pair for backups: the private key into OUT, the public key printed.

    Put the public key in SMARTOFFICE_BACKUP_RECIPIENTS on the machine that makes backups;
    keep the private key OFF that machine (a password manager, a safe, a second site).
    Without it no archive can be restored.
    """
    from server.backup.archive import new_key

    identity, recipient = new_key()
    text = f"# IKN Smart Office backup key; public key: {recipient}\n{identity}\n"
    if str(out) == "-":  # from a container: `... backup-key --out - > key.txt` on the host
        typer.echo(text, nl=False)
        typer.echo(f"SMARTOFFICE_BACKUP_RECIPIENTS={recipient}", err=True)
        return
    if out.exists():
        raise _fail(f"{out} exists; choose another file (an old key still opens old archives)")
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    typer.echo(f"SMARTOFFICE_BACKUP_RECIPIENTS={recipient}")
    typer.echo(f"# private key written to {out}: keep it off this machine", err=True)


def backup(
    to: Annotated[
        Path | None,
        typer.Option(help="Directory for the archive (default SMARTOFFICE_BACKUP_DIR)."),
    ] = None,
    recipient: Annotated[
        list[str] | None,
        typer.Option(help="age public key to encrypt to (default SMARTOFFICE_BACKUP_RECIPIENTS)."),
    ] = None,
    include: Annotated[
        list[Path] | None,
        typer.Option(help="A settings or secrets file to keep too (.env, broker passwords)."),
    ] = None,
    readings: Annotated[
        str, typer.Option(help="'store' (default) or 'skip' (InfluxDB 2.x/3.x: use its own tool).")
    ] = "store",
) -> None:
    """Write one encrypted archive of this deployment: database, readings, named files.

    Archives older than SMARTOFFICE_BACKUP_KEEP_DAYS in the same directory are deleted.
    """
    from server.backup.archive import ArchiveError
    from server.backup.service import backup as make
    from server.clock import now_utc
    from server.config import ServerSettings

    if readings not in ("store", "skip"):
        raise _fail("--readings is 'store' or 'skip'")
    try:
        made = asyncio.run(
            make(
                ServerSettings(),
                now=now_utc(),
                to=to,
                keys=recipient or None,
                include=include or [],
                with_readings=readings == "store",
            )
        )
    except ArchiveError as exc:
        raise _fail(str(exc)) from exc
    tables = made.manifest["relational"]["tables"]
    held = made.manifest["readings"]
    points = sum(held.get("at_most", {}).values())
    typer.echo(f"{made.note.archive} ({made.note.size:,} bytes, schema {made.note.schema})")
    typer.echo(
        f"  {len(tables)} tables, {sum(t['rows'] for t in tables.values()):,} rows; "
        + (f"{points:,} readings" if held["kind"] != "skipped" else "readings skipped")
        + f"; {len(made.manifest['files'])} file(s)"
    )
    for old in made.removed:
        typer.echo(f"  removed (older than the retention): {old.name}")


def restore(
    archive: Annotated[Path, typer.Argument(help="The archive (.tar.gz.age).")],
    key: Annotated[Path, typer.Option(help="The private key file (from backup-key).")],
    files_into: Annotated[
        Path | None,
        typer.Option(help="Put the archived settings files here, not where they came from."),
    ] = None,
) -> None:
    """Bring an archive back into an EMPTY deployment and check it against its manifest.

    The database and reading store the settings name must be empty. An archive from an
    older release is migrated to this one after the check.
    """
    from server.backup.archive import ArchiveError
    from server.backup.service import restore as bring_back
    from server.config import ServerSettings

    try:
        done = asyncio.run(
            bring_back(ServerSettings(), archive=archive, key_file=key, files_into=files_into)
        )
    except ArchiveError as exc:
        raise _fail(str(exc)) from exc
    tables = done.manifest["relational"]["tables"]
    typer.echo(
        f"restored {archive.name} (made {done.manifest['created']}): {len(tables)} tables, "
        f"{sum(t['rows'] for t in tables.values()):,} rows"
    )
    for path in done.files:
        typer.echo(f"  file: {path}")
    if done.differences:
        for line in done.differences:
            typer.echo(f"  DIFFERS: {line}", err=True)
        raise typer.Exit(1)
    typer.echo("  every table and reading count matches the manifest")
    if done.migrated_from:
        typer.echo(f"  schema brought from {done.migrated_from} to this release's")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)
