"""Bulk import of cameras from CSV or JSON, validated row by row like ``POST /cameras``.

Parsing, validation and password encryption are CPU work on thousands of rows: they run in a
worker thread (``parse``, ``RowChecker.check``); the database checks (regions, existing ids) and
the batched writes run on the loop. An existing API camera is updated with the fields its row
gives (an empty CSV cell keeps the stored value, so an export without passwords keeps them);
config cameras are refused.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import Camera, CameraSource, Region, utcnow
from hub.registry.cameras import column_values
from hub.registry.credentials import CredentialCipher
from hub.registry.errors import InvalidImport
from hub.registry.specs import CameraSpec

CSV_COLUMNS = (
    *("id", "name", "region", "kind", "tags", "latitude", "longitude", "protocol", "onvif_url"),
    *("main_url", "sub_url", "snapshot_url", "username", "password", "ptz", "enabled"),
)
_CSV_FIELD = {"region": "region_id"}  # CSV column → spec field; errors name the column
_CSV_COLUMN = {v: k for k, v in _CSV_FIELD.items()}
MAX_ROWS = 50_000
BATCH = 1000


@dataclass(slots=True)
class Row:
    row: int  # CSV: 1-based line; JSON: index
    camera_id: str | None
    errors: list[tuple[str, str]] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)  # every column, for an insert
    sent: frozenset[str] = frozenset()  # the columns the row gives, for an update


@dataclass(slots=True)
class ImportOutcome:
    rows: int
    accepted: int
    created: int
    updated: int
    rejected: list[Row]


def parse_csv(body: bytes) -> list[tuple[int, dict[str, Any]]]:
    """``(line, fields)`` per data row; empty cells are left out so the defaults apply."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = body[: err.start].count(b"\n") + 1
        raise InvalidImport(
            f"the CSV is not UTF-8 (line {line}, byte {err.start}): save it as UTF-8"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next((cells for cells in reader if any(c.strip() for c in cells)), None)
        if header is None:
            raise InvalidImport(f"the CSV is empty: expected a header line with {','.join(CSV_COLUMNS)}")
        columns = _check_header(header)
        rows: list[tuple[int, dict[str, Any]]] = []
        line = reader.line_num
        for cells in reader:
            start, line = line + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(columns):
                rows.append((start, {"__cells__": (len(cells), len(columns))}))
                continue
            fields: dict[str, Any] = {
                _CSV_FIELD.get(c, c): v.strip() for c, v in zip(columns, cells, strict=True) if v.strip()
            }
            if "tags" in fields:
                fields["tags"] = [t for t in fields["tags"].split(";") if t.strip()]
            rows.append((start, fields))
    except csv.Error as err:
        raise InvalidImport(f"the CSV cannot be read at line {reader.line_num}: {err}") from None
    return rows


def parse_json(body: bytes) -> list[tuple[int, dict[str, Any]]]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InvalidImport(f"the body is not valid JSON: {err}") from None
    if not isinstance(data, list):
        raise InvalidImport("the JSON body must be an array of camera objects")
    return list(enumerate(data))


def parse(body: bytes, *, is_csv: bool) -> list[tuple[int, Any]]:
    """Every row of the file, or InvalidImport when the file cannot be read as a whole."""
    raw = parse_csv(body) if is_csv else parse_json(body)
    if not raw:
        raise InvalidImport("the file holds no camera rows")
    if len(raw) > MAX_ROWS:
        raise InvalidImport(f"at most {MAX_ROWS} rows per import, got {len(raw)}: split the file")
    return raw


class RowChecker:
    """Validates rows chunk by chunk, in order, remembering ids across chunks (duplicates)."""

    def __init__(self, *, is_csv: bool, cipher: CredentialCipher) -> None:
        self.is_csv, self.cipher = is_csv, cipher
        self.first_row: dict[str, int] = {}
        self.now = utcnow()  # one time for the whole import, not a default call per column and row

    def check(self, raw: list[tuple[int, Any]]) -> list[Row]:
        """Blocking (pydantic and Fernet on every row): run it in a worker thread."""
        rows = []
        for number, data in raw:
            row = _validate(number, data, self.is_csv, self.cipher, self.now)
            if row.camera_id is not None:
                earlier = self.first_row.setdefault(row.camera_id, number)
                if earlier != number:
                    row.errors.append(
                        ("id", f"id {row.camera_id!r} is used twice (rows {earlier} and {number})")
                    )
            rows.append(row)
        return rows


async def import_cameras(
    *, session: AsyncSession, body: bytes, is_csv: bool, partial: bool, cipher: CredentialCipher
) -> ImportOutcome:
    """Write the good rows (``partial``), or all rows only when every one is good (the caller
    commits only then); in chunks of ``BATCH`` rows."""
    checker = RowChecker(is_csv=is_csv, cipher=cipher)

    def parse_and_check() -> list[Row]:
        # One worker-thread trip: overlapping it with the writes was slower (GIL contention).
        return checker.check(parse(body, is_csv=is_csv))

    rows = await asyncio.to_thread(parse_and_check)
    outcome = ImportOutcome(len(rows), 0, 0, 0, [])
    for start in range(0, len(rows), BATCH):
        await _import_chunk(session, rows[start : start + BATCH], outcome, is_csv=is_csv, partial=partial)
    if outcome.rejected and not partial:
        outcome.created = outcome.updated = 0  # nothing is committed
    return outcome


async def _import_chunk(
    session: AsyncSession, rows: list[Row], outcome: ImportOutcome, *, is_csv: bool, partial: bool
) -> None:
    stored = await _check_references(session, rows, is_csv)
    good = [row for row in rows if not row.errors]
    outcome.accepted += len(good)
    outcome.rejected.extend(row for row in rows if row.errors)
    if outcome.rejected and not partial:
        return  # all or nothing: the rest is only checked, for the report
    updates = [{k: row.values[k] for k in ("id", *row.sent)} for row in good if row.camera_id in stored]
    # Unset columns take their defaults (None for the nullable ones): fewer parameters bind faster.
    # Core executemany needs one set of columns per call, so the rows are grouped by theirs.
    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for row in good:
        if row.camera_id not in stored:
            values = {k: v for k, v in row.values.items() if v is not None}
            groups.setdefault(frozenset(values), []).append(values)
    connection = await session.connection()
    for group in groups.values():
        await connection.execute(insert(Camera), group)
    if updates:
        await session.execute(update(Camera), updates)
    outcome.created += sum(len(group) for group in groups.values())
    outcome.updated += len(updates)


def _check_header(header: list[str]) -> list[str]:
    columns = [c.strip().lower() for c in header]
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    if unknown:
        raise InvalidImport(
            f"unknown column(s) {', '.join(map(repr, unknown))} in the CSV header; "
            f"the columns are {','.join(CSV_COLUMNS)}"
        )
    twice = sorted({c for c in columns if columns.count(c) > 1})
    if twice:
        raise InvalidImport(f"column(s) {', '.join(map(repr, twice))} appear more than once in the header")
    if "id" not in columns:
        raise InvalidImport("the CSV header has no id column")
    return columns


def _validate(number: int, data: Any, is_csv: bool, cipher: CredentialCipher, now: datetime) -> Row:
    camera_id = data.get("id") if isinstance(data, dict) and isinstance(data.get("id"), str) else None
    row = Row(number, camera_id)
    if isinstance(data, dict) and "__cells__" in data:
        got, want = data["__cells__"]
        row.errors.append(("row", f"has {got} value(s), the header has {want} column(s)"))
        return row
    try:
        spec = CameraSpec.model_validate(data)
    except ValidationError as err:
        row.errors = [(_field(e["loc"], is_csv), e["msg"]) for e in err.errors(include_url=False)]
        return row
    times = {"created_at": now, "updated_at": now, "status_changed_at": now}
    row.values = {"id": spec.id, "source": CameraSource.API, **times, **column_values(spec, cipher)}
    sent = {("password_enc" if name == "password" else name) for name in spec.model_fields_set} - {"id"}
    row.sent = frozenset({*sent, "updated_at"})
    return row


def _field(loc: tuple[int | str, ...], is_csv: bool) -> str:
    if not loc:
        return "row"
    if is_csv:
        return _CSV_COLUMN.get(str(loc[0]), str(loc[0]))
    return ".".join(str(part) for part in loc)


async def _check_references(session: AsyncSession, rows: list[Row], is_csv: bool) -> dict[str, CameraSource]:
    """Add the row errors the database tells (unknown region, config camera); the stored ids."""
    regions = {row.values["region_id"] for row in rows if row.values.get("region_id")}
    known = {region for (region,) in await _chunked(session, select(Region.id), Region.id, regions)}
    ids = {row.camera_id for row in rows if row.camera_id is not None and not row.errors}
    stored = dict(await _chunked(session, select(Camera.id, Camera.source), Camera.id, ids))
    region_field = "region" if is_csv else "region_id"
    for row in rows:
        region = row.values.get("region_id")
        if region and region not in known:
            row.errors.append((region_field, f"no region {region!r}"))
        if not row.errors and stored.get(row.camera_id or "") == CameraSource.CONFIG:
            row.errors.append(("id", f"camera {row.camera_id!r} comes from the YAML config: it is read-only"))
    return stored


async def _chunked(session: AsyncSession, query: Any, column: Any, values: Iterable[str]) -> list[Any]:
    """The rows of ``query`` filtered by ``column IN values``, in chunks (SQLite caps parameters)."""
    ordered = sorted(values)
    found: list[Any] = []
    for start in range(0, len(ordered), BATCH):
        found.extend((await session.execute(query.where(column.in_(ordered[start : start + BATCH])))).all())
    return found
