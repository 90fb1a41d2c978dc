"""One numbered schema migration: plain, portable SQL statements, and optionally a Python
backfill for what SQL cannot compute portably (local days in each community's zone)."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiosqlite

# backfill(connection, default zone name): runs inside the migration's transaction, after its SQL
Backfill = Callable[[aiosqlite.Connection, str], Awaitable[None]]


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str
    backfill: Backfill | None = None

    def statements(self) -> list[str]:
        """The SQL split into statements; a trigger's body (BEGIN ... END) stays whole."""
        out: list[str] = []
        current = ""
        for part in self.sql.split(";"):
            current += part + ";"
            if sqlite3.complete_statement(current):
                if current.strip(" \n;"):
                    out.append(current.strip().rstrip(";").strip())
                current = ""
        if current.strip(" \n;"):
            out.append(current.strip().rstrip(";").strip())
        return out
