"""Read a layout file (JSON, YAML or CSV) into a :class:`LayoutDoc`.

JSON is read through YAML's composer (JSON is YAML), which knows the line of every node,
so an error in a 3,000-line layout says ``line 1214, floors.2.desks.14.x`` rather than a
path alone. CSV has one desk or room per line.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from server.exceptions import LayoutError
from server.spaces.plans import checked_plan
from server.spaces.schemas import LayoutDoc

PLAN_TYPES = {
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
}
MAX_PLAN_BYTES = 10 * 1024 * 1024
CSV_COLUMNS = (
    "building",
    "building_name",
    "floor",
    "floor_name",
    "level",
    "floor_width",
    "floor_height",
    "kind",
    "id",
    "name",
    "zone",
    "zone_name",
    "lighting_zone",
    "neighbourhood",
    "team",
    "x",
    "y",
    "width",
    "height",
    "capacity",
    "monitor",
    "standing",
    "accessible",
    "quiet",
)


def load_layout(path: Path) -> tuple[LayoutDoc, dict[str, tuple[bytes, str]]]:
    """The layout in ``path`` and the floor plans it names (read relative to it)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".csv":
        raw, lines = _from_csv(text)
        doc = _validate(raw, None, lines)
    else:
        doc = _validate(_structured(text), text)
    plans = {}
    for f, floor in enumerate(doc.floors):
        if floor.plan is None:
            continue
        plan = (path.parent / floor.plan).resolve()
        kind = PLAN_TYPES.get(plan.suffix.lower())
        if kind is None:
            raise LayoutError(f"floors.{f}.plan: {floor.plan!r} is not an SVG, PNG or JPEG file")
        if not plan.is_file():
            raise LayoutError(f"floors.{f}.plan: no file {floor.plan!r} beside {path.name}")
        data = plan.read_bytes()
        if len(data) > MAX_PLAN_BYTES:
            raise LayoutError(f"floors.{f}.plan: {floor.plan!r} is over 10 MiB")
        try:
            plans[floor.id] = (checked_plan(data, kind), kind)
        except LayoutError as exc:
            raise LayoutError(f"floors.{f}.{exc} ({floor.plan!r})") from exc
    return doc, plans


def parse_layout(raw: Any, text: str | None = None) -> LayoutDoc:
    """Validate an already decoded layout (the API's request body)."""
    return _validate(raw, text)


def _structured(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise LayoutError(f"{where}not valid JSON or YAML: {getattr(exc, 'problem', exc)}") from exc


def _validate(raw: Any, text: str | None, csv_lines: dict[str, int] | None = None) -> LayoutDoc:
    try:
        return LayoutDoc.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False)[:5]:
            loc = [p for p in err["loc"] if not isinstance(p, str) or not p.startswith("function-")]
            where = ".".join(str(p) for p in loc) or "document"
            line = _line_of(text, loc) if text else (csv_lines or {}).get(_item_key(loc))
            got = "" if err["type"] == "missing" else f" (got {repr(err.get('input'))[:40]})"
            prefix = f"line {line}, " if line else ""
            lines.append(f"{prefix}{where}: {err['msg']}{got}")
        raise LayoutError("; ".join(lines)) from exc


def _line_of(text: str, loc: list[Any]) -> int | None:
    """The 1-based line of the node at ``loc`` (or its nearest existing parent)."""
    try:
        node: Any = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for part in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), None)
            if node is not None:
                key_line = node.start_mark.line + 1
                line = key_line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if part < len(node.value) else None
        else:
            node = None
    if node is not None:
        line = node.start_mark.line + 1
    return line


def _item_key(loc: list[Any]) -> str:
    """``floors.0.desks.3`` of an error's location: the key of a CSV line."""
    return ".".join(str(p) for p in loc[:4])


def _from_csv(text: str) -> tuple[dict[str, Any], dict[str, int]]:
    """Build a layout document from one desk or room per line."""
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    unknown = [c for c in header if c not in CSV_COLUMNS]
    if unknown:
        raise LayoutError(f"line 1: unknown column(s) {', '.join(unknown)}")
    for needed in ("building", "floor", "kind", "id", "zone", "x", "y"):
        if needed not in header:
            raise LayoutError(f"line 1: missing column {needed!r}")
    building: dict[str, Any] | None = None
    floors: dict[str, dict[str, Any]] = {}
    lines: dict[str, int] = {}
    for row in reader:
        n = reader.line_num
        cells = {k: (v or "").strip() for k, v in row.items() if k is not None}
        if building is None:
            building = {
                "id": cells["building"],
                "name": cells.get("building_name") or cells["building"],
            }
        elif cells["building"] != building["id"]:
            raise LayoutError(
                f"line {n}, building: one file holds one building ({building['id']!r}), "
                f"got {cells['building']!r}"
            )
        floor = floors.get(cells["floor"])
        if floor is None:
            floor = floors[cells["floor"]] = {
                "id": cells["floor"],
                "name": cells.get("floor_name") or cells["floor"],
                "level": _number(cells, "level", n, int, "0"),
                "width": _number(cells, "floor_width", n, float, "1000"),
                "height": _number(cells, "floor_height", n, float, "1000"),
                "zones": [],
                "desks": [],
                "rooms": [],
            }
        f = list(floors).index(cells["floor"])
        zone_codes = {z["id"] for z in floor["zones"]}
        for field, kind in (
            ("zone", "hvac"),
            ("lighting_zone", "lighting"),
            ("neighbourhood", "neighbourhood"),
        ):
            code = cells.get(field)
            if code and code not in zone_codes:
                zone = {"id": code, "name": cells.get("zone_name") or code, "kind": kind}
                if kind == "neighbourhood" and cells.get("team"):
                    zone["team"] = cells["team"]
                floor["zones"].append(zone)
                zone_codes.add(code)
        kind = cells["kind"]
        item: dict[str, Any] = {
            "id": cells["id"],
            "zone": cells["zone"],
            "x": _number(cells, "x", n, float),
            "y": _number(cells, "y", n, float),
        }
        if cells.get("name"):
            item["name"] = cells["name"]
        if cells.get("lighting_zone"):
            item["lighting_zone"] = cells["lighting_zone"]
        if kind == "desk":
            if cells.get("neighbourhood"):
                item["neighbourhood"] = cells["neighbourhood"]
            for flag in ("monitor", "standing", "accessible", "quiet"):
                item[flag] = _flag(cells, flag, n)
            key = f"floors.{f}.desks.{len(floor['desks'])}"
            floor["desks"].append(item)
        elif kind == "room":
            item["capacity"] = _number(cells, "capacity", n, int)
            item["width"] = _number(cells, "width", n, float, "0")
            item["height"] = _number(cells, "height", n, float, "0")
            item.setdefault("name", cells["id"])
            key = f"floors.{f}.rooms.{len(floor['rooms'])}"
            floor["rooms"].append(item)
        else:
            raise LayoutError(f"line {n}, kind: expected 'desk' or 'room', got {kind!r}")
        lines[key] = n
    if building is None:
        raise LayoutError("line 2: the file has a header but no desks or rooms")
    return {"building": building, "floors": list(floors.values())}, lines


def _number(
    cells: dict[str, str], col: str, line: int, kind: type, default: str | None = None
) -> Any:
    value = cells.get(col) or default
    if value is None:
        raise LayoutError(f"line {line}, {col}: required")
    try:
        return kind(value)
    except ValueError:
        raise LayoutError(f"line {line}, {col}: expected a number, got {value!r}") from None


def _flag(cells: dict[str, str], col: str, line: int) -> bool:
    value = (cells.get(col) or "").lower()
    if value in ("", "0", "no", "false", "tidak"):
        return False
    if value in ("1", "yes", "true", "ya"):
        return True
    raise LayoutError(f"line {line}, {col}: expected yes/no, got {value!r}")
