"""`alcts-bot stats import FILE.csv`: follower counts of the association's other accounts
from a CSV file (date, platform, followers[, handle]), each bad row named as
`FILE:LINE: problem`, the good rows stored in one transaction."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from cogs.stats.social import (
    SOURCE_IMPORT,
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
    order, names in any case, other columns ignored). A bad row is skipped and named; the
    good rows are kept. Blank lines are ignored. The same date, platform and handle twice:
    the first is kept, the second skipped. `accounts` resolves a missing handle for
    Mastodon and Bluesky (`resolve_handle`)."""
    out = CsvImport()
    reader = csv.reader(text.splitlines(keepends=True), strict=True)  # an unclosed quote is an error, not rows lost
    seen: dict[tuple[str, str, str], int] = {}
    columns: dict[str, int] | None = None
    try:
        for fields in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in fields):
                continue
            if columns is None:
                columns = {name.strip().lower(): i for i, name in enumerate(fields)}
                missing = [name for name in CSV_COLUMNS if name not in columns]
                if missing:
                    out.problems.append(
                        f"{where}:{line}: the first line must be the header {','.join(CSV_COLUMNS)}"
                        f" (missing {', '.join(missing)})"
                    )
                    out.fatal = True
                    return out
                continue
            if any("\n" in cell or "\r" in cell for cell in fields):  # no column holds a line break: a stray quote
                raise csv.Error("a quote opened here is closed only on a later line")
            try:
                row = _csv_row(fields, columns, today, accounts)
            except ValueError as exc:
                out.problems.append(f"{where}:{line}: {exc}")
                out.skipped += 1
                continue
            key = (row[0], row[1], row[2])
            if key in seen:
                out.problems.append(
                    f"{where}:{line}: {display(row[0], row[1])} on {row[2]} is already on line {seen[key]}; skipped"
                )
                out.skipped += 1
                continue
            seen[key] = line
            out.rows.append(row)
    except csv.Error as exc:
        out.problems.append(f"{where}:{reader.line_num}: not readable as CSV ({exc})")
        out.fatal = True
        out.rows.clear()
        return out
    if columns is None:
        out.problems.append(f"{where}:1: the file is empty; the first line must be the header {','.join(CSV_COLUMNS)}")
        out.fatal = True
    return out


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
        return CsvImport(problems=[problem or where], fatal=True)
    result = parse_counts_csv(text, where=where, today=today, accounts=await store.accounts())
    if not result.fatal:
        await store.record_many(result.rows, SOURCE_IMPORT, at)
    return result
