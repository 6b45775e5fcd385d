"""``smartoffice login`` and ``smartoffice device ...``: commission sensor nodes.

register -> flash -> verify is the whole job at a desk; identify blinks a node, label
prints a desk's QR label, list shows what is installed.
"""

from __future__ import annotations

import json
import ssl
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from contracts.labels import CAPTION, svg, text
from smartoffice.installer import board
from smartoffice.installer.client import Api, CliError, Session, config_dir, login, write_private

device_app = typer.Typer(
    help="Register, flash, verify and label sensor nodes.", no_args_is_help=True
)
WITA = ZoneInfo("Asia/Makassar")
# The reference wiring of docs/firmware.md, written into config.json at flashing.
WIRING: dict[str, dict[str, Any]] = {
    "desk": {"pir_pin": 4, "radar_uart": [1, 17, 16], "led_pins": [25, 26, 27]},
    "room": {"i2c": [0, 22, 21]},
    "energy": {"meter_uart": [2, 17, 16], "meters": [{"address": 1, "circuit": "total"}]},
}


def _fail(exc: CliError) -> typer.Exit:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    return typer.Exit(1)


@contextmanager
def _server() -> Iterator[Api]:
    """The server as the logged-in user; a CliError inside is one red line and exit 1."""
    try:
        api = Api(Session.load())
    except CliError as exc:
        raise _fail(exc) from exc
    try:
        yield api
    except CliError as exc:
        raise _fail(exc) from exc
    finally:
        api.close()


def _device_file(device_id: str) -> Path:
    return config_dir() / "devices" / f"{device_id}.json"


def _where(device: dict[str, Any]) -> str:
    space = device.get("space")
    if not space:
        return "not assigned"
    return f"{space['space_kind']} {space['space']} ({space['building']}, {space['floor']})"


def _clock(ms: int | None) -> str:
    if ms is None:
        return "never"
    return datetime.fromtimestamp(ms / 1000, WITA).strftime("%Y-%m-%d %H:%M:%S WITA")


def login_command(
    server: Annotated[str, typer.Option(help="The server's URL.")] = "http://127.0.0.1:8000",
    username: Annotated[str, typer.Option(prompt=True)] = "",
    password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin.")] = False,
) -> None:
    """Log in to the server; later commands use this session until it expires."""
    password = (
        sys.stdin.readline().rstrip("\n")
        if password_stdin
        else typer.prompt("Password", hide_input=True)
    )
    try:
        session = login(server, username, password)
    except CliError as exc:
        raise _fail(exc) from exc
    minutes = int((session.expires - time.time()) / 60)
    typer.echo(f"logged in to {server} as {username} for {minutes} min")


@device_app.command()
def register(
    kind: Annotated[str, typer.Option(help="desk, room or energy.")],
    building: Annotated[
        str | None, typer.Option(help="Building of the desk, room or zone.")
    ] = None,
    desk: str | None = None,
    room: str | None = None,
    zone: Annotated[str | None, typer.Option(help="Zone an energy node meters.")] = None,
    device_id: Annotated[str | None, typer.Option("--id", help="Default: made up.")] = None,
    gateway: Annotated[str | None, typer.Option(help="Default: the building's gateway.")] = None,
) -> None:
    """Register a node (and assign it); its password is saved for `device flash`."""
    with _server() as api:
        body: dict[str, Any] = {"kind": kind, "id": device_id, "gateway": gateway}
        created = api.call("POST", "/api/v1/devices", json=body)
        device = created["device"]
        if building and (desk or room or zone):
            where = {"building": building, "desk": desk, "room": room, "zone": zone}
            device = api.call("PUT", f"/api/v1/devices/{device['id']}/assignment", json=where)
    path = _device_file(device["id"])
    saved = {
        "device_id": device["id"],
        "kind": device["kind"],
        "mqtt_password": created["mqtt_password"],
        "base_topic": created["base_topic"],
    }
    write_private(path, json.dumps(saved, indent=1))
    typer.echo(f"registered {device['id']} ({device['kind']}), {_where(device)}")
    _warn(device)
    typer.echo(f"its MQTT password is saved in {path} (readable only by you)")
    typer.echo(f"next: smartoffice device flash {device['id']} --port /dev/ttyUSB0 ...")


@device_app.command()
def assign(
    device_id: str,
    building: Annotated[str, typer.Option()],
    desk: str | None = None,
    room: str | None = None,
    zone: str | None = None,
) -> None:
    """Move a node to another desk, room or zone (no reflash needed)."""
    with _server() as api:
        where = {"building": building, "desk": desk, "room": room, "zone": zone}
        device = api.call("PUT", f"/api/v1/devices/{device_id}/assignment", json=where)
    typer.echo(f"{device_id} now serves {_where(device)}")
    _warn(device)


def _warn(device: dict[str, Any]) -> None:
    """What the server said deserves a look (a second node on a desk)."""
    for warning in device.get("warnings", []):
        typer.echo(f"warning: {warning}", err=True)


@device_app.command()
def password(device_id: str) -> None:
    """Give a node a new MQTT password (saved for `device flash`; flash it again)."""
    with _server() as api:
        created = api.call("POST", f"/api/v1/devices/{device_id}/password")
    path = _device_file(device_id)
    saved = json.loads(path.read_text()) if path.exists() else {"device_id": device_id}
    saved.update(
        kind=created["device"]["kind"],
        mqtt_password=created["mqtt_password"],
        base_topic=created["base_topic"],
    )
    write_private(path, json.dumps(saved, indent=1))
    typer.echo(f"new password for {device_id} saved in {path}; flash the node again")


@device_app.command()
def flash(
    device_id: str,
    port: Annotated[str, typer.Option(help="Serial port, e.g. /dev/ttyUSB0.")],
    wifi_ssid: Annotated[str, typer.Option(envvar="SMARTOFFICE_WIFI_SSID")],
    mqtt_host: Annotated[str, typer.Option(help="The building gateway's broker.")],
    wifi_password: Annotated[str, typer.Option(envvar="SMARTOFFICE_WIFI_PASSWORD")] = "",
    mqtt_port: int = 1883,
    mqtt_ca: Annotated[
        Path | None,
        typer.Option(
            help="The CA (PEM) that signs the broker's certificate: the node then speaks TLS "
            "and trusts only this CA (use with --mqtt-port 8883)."
        ),
    ] = None,
    image: Annotated[
        Path | None, typer.Option(help="A MicroPython .bin to write first with esptool.")
    ] = None,
    chip: Annotated[str, typer.Option(help=", ".join(board.IMAGE_OFFSET))] = "esp32",
    erase: Annotated[bool, typer.Option(help="Erase the whole flash before the image.")] = False,
    compile_mpy: Annotated[bool, typer.Option("--mpy/--py", help="Compile to .mpy.")] = True,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Extra config.json keys: key=JSON value.")
    ] = None,
    connect_attempts: Annotated[int, typer.Option(help="esptool's tries to reach the chip.")] = 7,
    firmware: Annotated[Path, typer.Option(help="The firmware folder.")] = board.FIRMWARE,
    esptool: Annotated[str, typer.Option(envvar="SMARTOFFICE_ESPTOOL")] = "esptool",
    mpremote: Annotated[str, typer.Option(envvar="SMARTOFFICE_MPREMOTE")] = "mpremote",
) -> None:
    """Write MicroPython (optional), the firmware and the node's config.json to a board."""
    tools = board.Tools(esptool=esptool, mpremote=mpremote)
    try:
        if chip not in board.IMAGE_OFFSET:
            raise CliError(f"unknown chip {chip!r}: use one of {', '.join(board.IMAGE_OFFSET)}")
        saved = _saved(device_id)
        _check_password(device_id, saved["mqtt_password"])
        config = {
            **WIRING.get(saved["kind"], {}),
            "device_id": device_id,
            "kind": saved["kind"],
            "base_topic": saved["base_topic"],
            "mqtt_password": saved["mqtt_password"],
            "mqtt_host": mqtt_host,
            "mqtt_port": mqtt_port,
            "wifi_ssid": wifi_ssid,
            "wifi_password": wifi_password,
            **_extra(set_ or []),
        }
        extra = {}
        if mqtt_ca is not None:
            extra["ca.der"] = _ca_der(mqtt_ca)
            config.update(mqtt_tls=True, mqtt_ca="ca.der")
        board.check_port(port)
        if image is not None:
            if not image.is_file():
                raise CliError(f"no MicroPython image at {image}")
            argvs = board.esptool_argv(
                tools,
                chip=chip,
                port=port,
                image=image,
                erase=erase,
                connect_attempts=connect_attempts,
            )
            for argv in argvs:
                typer.echo(f"$ {' '.join(argv)}")
                board.run(argv, what="esptool")
        files = board.stage(
            config,
            chip=chip,
            tools=tools,
            compile_mpy=compile_mpy,
            firmware=firmware,
            extra=extra,
        )
        argv = board.mpremote_argv(tools, port=port, files=files)
        typer.echo(f"$ {' '.join(argv)}")
        board.run(argv, what="mpremote")
    except CliError as exc:
        raise _fail(exc) from exc
    typer.echo(f"flashed {device_id}; it restarts now. Next: smartoffice device verify {device_id}")


def _ca_der(path: Path) -> bytes:
    """The CA certificate in DER, the form the node's TLS reads, from a PEM (or DER) file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CliError(f"--mqtt-ca: cannot read {path}: {exc.strerror}") from exc
    if b"-----BEGIN CERTIFICATE-----" in data:
        try:
            return ssl.PEM_cert_to_DER_cert(data.decode("ascii", "replace"))
        except ValueError as exc:
            raise CliError(f"--mqtt-ca: {path} is not a PEM certificate") from exc
    if data[:1] == b"\x30":  # a DER SEQUENCE
        return data
    raise CliError(f"--mqtt-ca: {path} is neither a PEM nor a DER certificate")


def _saved(device_id: str) -> dict[str, Any]:
    path = _device_file(device_id)
    try:
        saved: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CliError(
            f"no saved password for {device_id} in {path}: register it here, or run "
            f"`smartoffice device password {device_id}` for a new one"
        ) from exc
    return saved


def _check_password(device_id: str, mqtt_password: str) -> None:
    api = Api(Session.load())
    try:
        check = api.call(
            "POST", f"/api/v1/devices/{device_id}/password/check", json={"password": mqtt_password}
        )
    finally:
        api.close()
    if not check["matches"]:
        raise CliError(
            f"the saved password of {device_id} is not its current one (it was reset since): "
            f"run `smartoffice device password {device_id}` and flash again"
        )


def _extra(pairs: list[str]) -> dict[str, Any]:
    extra = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise CliError(f"--set {pair!r}: write key=value, e.g. --set hold_s=90")
        try:
            extra[key] = json.loads(value)
        except ValueError:
            extra[key] = value
    return extra


@device_app.command()
def verify(
    device_id: str,
    timeout: Annotated[float, typer.Option(help="Seconds to wait.")] = 180,
    interval: Annotated[float, typer.Option(help="Seconds between checks.")] = 2,
) -> None:
    """Wait until the node is online and its first reading reached the server."""
    with _server() as api:
        _verify(api, device_id, timeout, interval)


def _verify(api: Api, device_id: str, timeout: float, interval: float) -> None:
    started_ms = time.time() * 1000
    deadline = time.monotonic() + timeout
    done: set[str] = set()
    try:
        device = api.call("GET", f"/api/v1/devices/{device_id}")
        typer.echo(f"verifying {device_id} ({device['kind']}), {_where(device)}")
        _gateway_line(api, device)
        while True:
            device = api.call("GET", f"/api/v1/devices/{device_id}")
            if device["state"] == "online" and "online" not in done:
                done.add("online")
                typer.secho(
                    f"  [ok] online since {_clock(device['status_ms'])}, firmware "
                    f"{device['fw']}, boot {device['boot']}",
                    fg=typer.colors.GREEN,
                )
            recent = (device["last_reading_ms"] or 0) > started_ms - 300_000
            if "online" in done and recent:
                rssi = f", signal {device['rssi_dbm']} dBm" if device["rssi_dbm"] else ""
                typer.secho(
                    f"  [ok] reading received {_clock(device['last_reading_ms'])}{rssi}",
                    fg=typer.colors.GREEN,
                )
                typer.secho(f"PASS: {device_id} is online and reporting", fg=typer.colors.GREEN)
                return
            if time.monotonic() >= deadline:
                raise CliError(_never_came(api, device_id, device, done))
            waiting = "first reading" if "online" in done else "the node to come online"
            left = deadline - time.monotonic()
            typer.echo(f"  [..] waiting for {waiting} ({left:.0f} s left)\r", nl=False)
            time.sleep(interval)
    except CliError as exc:
        typer.echo("")
        typer.secho(f"FAIL: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc


def _gateway_line(api: Api, device: dict[str, Any]) -> None:
    gateways = {g["id"]: g for g in api.call("GET", "/api/v1/gateways")}
    gw = gateways.get(device["gateway"] or "")
    if gw is None:
        raise CliError(f"{device['id']} has no gateway: assign it to a desk, room or zone first")
    typer.echo(f"  [ok] gateway {gw['id']} last called the server {_clock(gw['last_contact_ms'])}")


def _never_came(api: Api, device_id: str, device: dict[str, Any], done: set[str]) -> str:
    if "online" in done:
        return (
            f"{device_id} came online but sent no reading: check its sensor wiring "
            f"(last error: {device['last_error'] or 'none reported'})"
        )
    hints = ["the Wi-Fi name and password", "that the broker address is the gateway's"]
    path = _device_file(device_id)
    if path.exists():
        saved = json.loads(path.read_text())
        check = api.call(
            "POST",
            f"/api/v1/devices/{device_id}/password/check",
            json={"password": saved["mqtt_password"]},
        )
        if not check["matches"]:
            return (
                f"{device_id} never came online, and the password this laptop flashed is no "
                f"longer its password: run `smartoffice device password {device_id}`, flash again"
            )
    gateways = {g["id"]: g for g in api.call("GET", "/api/v1/gateways")}
    gw = gateways.get(device["gateway"] or "")
    if gw and (gw["last_contact_ms"] or 0) < time.time() * 1000 - 120_000:
        hints.insert(
            0, f"that gateway {gw['id']} runs (it last called {_clock(gw['last_contact_ms'])})"
        )
    return f"{device_id} never came online; check {', '.join(hints)}"


@device_app.command()
def identify(device_id: str, seconds: Annotated[int, typer.Option(min=1, max=300)] = 10) -> None:
    """Blink the node's LED so you can find it."""
    with _server() as api:
        result = api.call(
            "POST",
            f"/api/v1/devices/{device_id}/commands",
            params={"wait": 30},
            json={"cmd": "identify", "args": {"seconds": seconds}},
        )
    if result["state"] == "acked":
        typer.echo(f"{device_id} is blinking for {seconds} s")
    elif result["state"] == "failed":
        raise _fail(CliError(f"{device_id} refused: {result['error']}"))
    else:
        raise _fail(CliError(f"no answer from {device_id} in 30 s (command {result['state']})"))


@device_app.command()
def label(
    building: Annotated[str, typer.Option()],
    desk: Annotated[str, typer.Option()],
    out: Annotated[Path | None, typer.Option(help="Write an SVG label here.")] = None,
) -> None:
    """A desk's QR label that opens its check-in page (SVG to print, or in the terminal)."""
    with _server() as api:
        found = api.call("GET", f"/api/v1/buildings/{building}/desks/{desk}/label")
    url, floor_name, desk_name = found["url"], found["floor"], _desk_title(desk, found["desk"])
    if out is None:
        typer.echo(text(url))
        typer.echo(f"{desk_name} - {url}")
        return
    out.write_text(svg(url, desk_name, [floor_name, *CAPTION]))
    typer.echo(f"label for {desk_name} written to {out} ({url})")


def _desk_title(code: str, name: str) -> str:
    """What the label calls the desk: its name, or ``Meja <code>`` without one."""
    return name if name and name != code else f"Meja {code}"


@device_app.command("list")
def list_devices(
    building: str | None = None,
    floor: str | None = None,
    kind: str | None = None,
    state: Annotated[str | None, typer.Option(help="new, online, offline, decommissioned")] = None,
) -> None:
    """Installed nodes with their state, place, firmware and signal."""
    with _server() as api:
        params = {
            k: v
            for k, v in {"building": building, "floor": floor, "kind": kind, "state": state}.items()
            if v
        }
        devices = api.call("GET", "/api/v1/devices", params=params)
    typer.echo(
        f"{'DEVICE':22} {'STATE':14} {'PLACE':36} {'FW':8} {'RSSI':>5} {'GAPS':>5}  LAST SEEN"
    )
    for d in devices:
        rssi = d["rssi_dbm"] if d["rssi_dbm"] is not None else "-"
        typer.echo(
            f"{d['id']:22} {d['state']:14} {_where(d)[:36]:36} {d['fw'] or '-':8} "
            f"{rssi:>5} {d['gaps']:>5}  {_clock(d['last_seen_ms'])}"
        )
    typer.echo(f"{len(devices)} device(s)")


@device_app.command()
def decommission(device_id: str) -> None:
    """Retire a node: its broker login is revoked at the gateway's next registry pull."""
    with _server() as api:
        api.call("DELETE", f"/api/v1/devices/{device_id}")
    _device_file(device_id).unlink(missing_ok=True)
    typer.echo(f"{device_id} decommissioned; its password no longer works")
