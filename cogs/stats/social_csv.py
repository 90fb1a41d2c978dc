"""`alcts-bot stats import FILE.csv`: follower counts of the association's other accounts
from a CSV file (date, platform, followers[, handle]). Each bad row is named as
`FILE:LINE: problem` and skipped, and the good rows are stored in one transaction; a problem
with the file as a whole (not UTF-8 text, no header, a quote left open) imports nothing and
is one line."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from cogs.stats.social import SOURCE_IMPORT
from cogs.stats.social_names import (
    display,
    normalise_handle,
    normalise_network,
    parse_count,
    parse_day,
    resolve_handle,
)
from storage.social import SocialAccount, SocialStore

CSV_COLUMNS = ("date", "platform", "followers")  # required; `handle` is optional


# -- the CSV import (alcts-bot stats import) ----------------------------------------------


@dataclass
class CsvImport:
    """What `parse_counts_csv` found: rows to store as (network, handle, day, followers),
    how many rows were skipped as bad, and one `WHERE:LINE: message` per problem. `fatal`:
    the file as a whole is unusable (no header, not UTF-8 text, broken CSV quoting), so
    nothing from it is imported."""

    rows: list[tuple[str, str, str, int]] = field(default_factory=list)
    skipped: int = 0
    problems: list[str] = field(default_factory=list)
    fatal: bool = False


def decode_csv(data: bytes, where: str) -> tuple[str | None, str | None]:
    """(text, None), or (None, a problem line) when the bytes are not UTF-8 (a BOM is fine)."""
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, f"{where}:{line}: not UTF-8 text; save the file as CSV UTF-8"


def parse_counts_csv(
    text: str, *, where: str, today: date, accounts: Sequence[SocialAccount] = ()
) -> CsvImport:
    """Read `date,platform,followers[,handle]` rows (header required, columns in any
    order, names in any case, other columns ignored), one line at a time.

    Row problems (a bad value, a missing cell, more cells than the header has columns (empty
    ones aside), quotes that do not close right on the line, the
    same date, platform and handle as an earlier line) skip that row and are named by line;
    the good rows are kept. File problems import nothing and are one line: no header, or a
    quote left open at the end of a line (the CSV could then mean other rows than the lines
    show; no column of this file holds a line break). Blank lines are ignored. `accounts`
    resolves a missing handle for Mastodon and Bluesky (`resolve_handle`)."""
    out = CsvImport()
    seen: dict[tuple[str, str, str], int] = {}
    columns: dict[str, int] | None = None
    for number, line in enumerate(io.StringIO(text, newline=""), start=1):
        try:
            fields = next(csv.reader([line], strict=True), [])
        except csv.Error as exc:
            if _open_quote(line):
                return _fatal(f"{where}:{number}: a quote opened on this line is not closed on it; "
                                   "nothing was imported")  # fmt: skip
            if columns is None:
                return _fatal(f"{where}:{number}: the header is not readable as CSV ({exc}); nothing was imported")
            out.problems.append(f"{where}:{number}: not readable as CSV ({exc}); skipped")
            out.skipped += 1
            continue
        if not any(cell.strip() for cell in fields):
            continue
        if columns is None:
            columns = {name.strip().lower(): i for i, name in enumerate(fields)}
            width = len(fields)
            missing = [name for name in CSV_COLUMNS if name not in columns]
            if missing:
                return _fatal(f"{where}:{number}: the first line must be the header {','.join(CSV_COLUMNS)}"
                                   f" (missing {', '.join(missing)}); nothing was imported")  # fmt: skip
            continue
        try:
            if any(cell.strip() for cell in fields[width:]):  # a cell the header does not name: a shifted row?
                raise ValueError(f"{len(fields)} cells, but the header names {width} columns")
            row = _csv_row(fields, columns, today, accounts)
        except ValueError as exc:
            out.problems.append(f"{where}:{number}: {exc}")
            out.skipped += 1
            continue
        key = (row[0], row[1], row[2])
        if key in seen:
            out.problems.append(
                f"{where}:{number}: {display(row[0], row[1])} on {row[2]} is already on line {seen[key]}; skipped"
            )
            out.skipped += 1
            continue
        seen[key] = number
        out.rows.append(row)
    if columns is None:
        return _fatal(f"{where}:1: the file is empty; the first line must be the header "
                           f"{','.join(CSV_COLUMNS)}; nothing was imported")  # fmt: skip
    return out


def _open_quote(line: str) -> bool:
    """Whether a quote opened on this line is still open at its end (closing it would make
    the line readable)."""
    try:
        next(csv.reader([line.rstrip("\r\n") + '"'], strict=True), None)
    except csv.Error:
        return False
    return True


def _fatal(problem: str) -> CsvImport:
    """The file as a whole is unusable: nothing from it is imported, and one line says why."""
    return CsvImport(problems=[problem], fatal=True)


def _csv_row(
    fields: list[str], columns: dict[str, int], today: date, accounts: Sequence[SocialAccount]
) -> tuple[str, str, str, int]:
    def cell(name: str) -> str:
        i = columns.get(name)
        return fields[i].strip() if i is not None and i < len(fields) else ""

    for name in CSV_COLUMNS:
        if not cell(name):
            raise ValueError(f"{name} is empty")
    network = normalise_network(cell("platform"))
    day = parse_day(cell("date"), today)
    followers = parse_count(cell("followers"))
    handle = normalise_handle(network, cell("handle")) if cell("handle") else ""
    return network, resolve_handle(accounts, network, handle), day, followers


async def import_csv(store: SocialStore, data: bytes, *, where: str, today: date, at: datetime) -> CsvImport:
    """Parse a CSV file's bytes and upsert its good rows (source 'import') in one
    transaction; a fatal file problem imports nothing."""
    text, problem = decode_csv(data, where)
    if text is None:
        return _fatal(f"{problem or where}; nothing was imported")
    result = parse_counts_csv(text, where=where, today=today, accounts=await store.accounts())
    if not result.fatal:
        await store.record_many(result.rows, SOURCE_IMPORT, at)
    return result
