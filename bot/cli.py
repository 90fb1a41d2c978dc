"""`alcts-bot`: shell, run, report, db upgrade, db backup (the CLI contract)."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from bot.config import ConfigError, Settings, load_settings
from bot.model import Role
from storage.db import StoreUnavailable

log = logging.getLogger("bot")

NO_PLATFORM = (
    "No chat platform is configured: set DISCORD_TOKEN or SLACK_BOT_TOKEN (see .env.example), "
    "or try the console with: alcts-bot shell"
)
PLATFORM_MODULES = {  # module -> the setting that switches it on
    "bot.platforms.discord": "discord_token",
    "bot.platforms.slack": "slack_bot_token",
}


class OneLineParser(argparse.ArgumentParser):
    """A bad argument is one line and exit code 2 (the CLI contract), not usage text."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}\n")


def _instant(text: str) -> datetime:
    """An ISO 8601 instant from 1970 to 2199; without an offset it is read as UTC."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time like 2026-12-01T12:00:00Z") from None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    if not 1970 <= when.astimezone(UTC).year < 2200:
        raise argparse.ArgumentTypeError(f"{text!r} is out of range; give a time from 1970 to 2199")
    return when


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="alcts-bot", description="ALCTS community engagement bot")
    sub = parser.add_subparsers(dest="command", required=True)

    shell = sub.add_parser("shell", help="chat with the bot in a console community")
    shell.add_argument("--db", type=Path, help="SQLite file (default: BOT_DATABASE)")
    shell.add_argument("--as", dest="member", default="you", help="your member name")
    shell.add_argument("--role", choices=[r.label for r in Role], default="member")
    shell.add_argument(
        "--now", type=_instant, metavar="ISO8601",
        help="start the console's clock at this instant (e.g. 2026-12-01T12:00:00Z) instead of the real time",
    )  # fmt: skip

    sub.add_parser("run", help="serve every platform whose credentials are set")

    report = sub.add_parser("report", help="engagement and follower growth for organizers")
    report.add_argument("--db", type=Path, help="SQLite file (default: BOT_DATABASE)")
    report.add_argument("--days", type=int, default=30)
    report.add_argument("--now", type=_instant, metavar="ISO8601",
                        help="report as of this instant (e.g. after a shell session run with --now) instead of now")
    report.add_argument("--community", help="one community, by id, platform:id or name (default: every community,"
                        " and all combined)")
    report.add_argument("--format", choices=["html", "csv", "csv-summary", "json"], default="html",
                        help="csv: one row per scope and day; csv-summary: every other figure, one per row")
    report.add_argument("--out", type=Path, help="file to write (default: standard output)")

    trivia = sub.add_parser("trivia", help="trivia question packs")
    trivia_sub = trivia.add_subparsers(dest="trivia_command", required=True)
    check = trivia_sub.add_parser(
        "check", help="validate question packs (YAML files or folders of them), reporting file and line",
        description=_trivia_rules(), formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    check.add_argument("files", nargs="+", type=Path, metavar="FILE|DIR")
    check.add_argument("--pairs", action="store_true", help="list the questions never asked in the same round")

    slack_manifest = sub.add_parser("slack-manifest", help="print the Slack app manifest (YAML) this code needs")
    slack_manifest.add_argument("--url", help="the bot's public events URL (https://HOST/slack/events) for HTTP mode")

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", help="apply pending migrations")
    upgrade.add_argument("--db", type=Path, help="SQLite file (default: BOT_DATABASE)")
    backup = db_sub.add_parser("backup", help="copy the live database (online backup)")
    backup.add_argument("--db", type=Path, help="SQLite file (default: BOT_DATABASE)")
    backup.add_argument("path", type=Path)

    stats = sub.add_parser("stats", help="follower counts from the association's other platforms")
    stats_sub = stats.add_subparsers(dest="stats_command", required=True)
    stats_import = stats_sub.add_parser(
        "import", help="upsert follower counts from a CSV file: date,platform,followers (header required)"
    )
    stats_import.add_argument("file", type=Path, metavar="FILE.csv")
    stats_import.add_argument("--db", type=Path, help="SQLite file (default: BOT_DATABASE)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(*exc.lines, sep="\n", file=sys.stderr)
        return 2
    commands: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
        "shell": cmd_shell,
        "run": cmd_run,
        "report": cmd_report,
        "db": cmd_db,
        "slack-manifest": cmd_slack_manifest,
        "trivia": cmd_trivia_check,
        "stats": cmd_stats_import,
    }
    try:
        return commands[args.command](args, settings)
    except ConfigError as exc:  # a setting a feature checks when it starts (the poll key)
        print(*exc.lines, sep="\n", file=sys.stderr)
        return 2
    except StoreUnavailable as exc:  # corrupt, a folder, unwritable, or a newer schema
        print(f"alcts-bot: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. the log file beside the database cannot be created
        where = f"cannot use {exc.filename}: " if exc.filename else ""
        print(f"alcts-bot: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2


# -- shell --------------------------------------------------------------------------------


def cmd_shell(args: argparse.Namespace, settings: Settings) -> int:
    from bot import logs

    db_path = _db_path(args, settings)
    settings = settings.model_copy(update={"bot_database": db_path})  # --db wins everywhere (the poll key too)
    logs.configure(settings.bot_log_level, settings.secrets(), file=log_file(db_path))
    return asyncio.run(_shell(settings, Path(db_path), args.member, Role.parse(args.role), args.now))


async def _shell(settings: Settings, db_path: Path, member: str, role: Role, now: datetime | None) -> int:
    from bot.app import Bot
    from bot.clock import OffsetClock
    from bot.platforms.console import ConsolePlatform
    from storage.db import Database

    clock = OffsetClock(now)
    bot = Bot(settings, Database(db_path, settings.bot_timezone), clock, edit_interval=0)  # console edits cost nothing
    bot.role = "shell"
    bot.load_cogs()
    console = ConsolePlatform(
        bot, clock, sys.stdout, member=member, role=role, files_dir=db_path.with_name(db_path.stem + "-files")
    )
    bot.add_platform(console)
    await bot.open()
    console.welcome(str(db_path))
    await bot.scheduler.run_due()  # what fell due while the console was closed, before any input
    await bot.idle()
    bot.start_scheduler()
    stop = _stop_on_signals()
    try:
        await console.run(sys.stdin, stop)
    finally:
        await bot.close()
    return 0


# -- run ----------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from bot import logs

    wanted = [module for module, secret in PLATFORM_MODULES.items() if getattr(settings, secret)]
    if not wanted:
        print(NO_PLATFORM, file=sys.stderr)
        return 2
    logs.configure(settings.bot_log_level, settings.secrets())
    try:
        return asyncio.run(_run(settings, wanted))
    except ConfigError as exc:  # a platform refused its settings: a missing secret, a rejected token
        print(*exc.lines, sep="\n", file=sys.stderr)
        return 2


async def _run(settings: Settings, modules: list[str]) -> int:
    from bot import heap
    from bot.app import Bot
    from bot.clock import SystemClock
    from storage.db import Database

    bot = Bot(settings, Database(settings.bot_database, settings.bot_timezone), SystemClock())
    bot.role = "run"
    bot.load_cogs()
    await bot.open()
    stop = _stop_on_signals()
    try:
        for module in modules:  # platform libraries are imported only when they start
            platform = importlib.import_module(module).create(bot, settings)
            bot.add_platform(platform)
            await platform.start()
            log.info("platform started name=%s", platform.name)
        bot.start_scheduler()
        heap.settle()  # what start-up made lives as long as the process (bot/heap.py)
        await stop.wait()
        log.info("shutting down: finishing work in flight")
    finally:
        await bot.close()
    return 0


def log_file(db_path: Path) -> Path:
    """The console's log: the database's name with `.log` added (`bot.sqlite3.log`)."""
    return db_path.with_name(db_path.name + ".log")


def _db_path(args: argparse.Namespace, settings: Settings) -> Path:
    """--db when given, else BOT_DATABASE."""
    return Path(getattr(args, "db", None) or settings.bot_database)


def _stop_on_signals() -> asyncio.Event:
    """First SIGINT/SIGTERM: stop gracefully. A second one: exit at once."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if stop.is_set():
            os._exit(130)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    return stop


# -- report -------------------------------------------------------------------------------


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from cogs.stats.report import build_report, render

    if not 1 <= args.days <= 3650:
        print("alcts-bot: --days is from 1 to 3650", file=sys.stderr)
        return 2

    if not _db_path(args, settings).is_file():  # a report reads; it never makes a database
        print(f"alcts-bot: there is no database at {_db_path(args, settings)}", file=sys.stderr)
        return 2

    async def go() -> str:
        from bot.clock import SystemClock
        from storage.db import Database

        db = Database(_db_path(args, settings), settings.bot_timezone)
        await db.open()
        try:
            report = await build_report(db, days=args.days, brand=settings.bot_brand, default_zone=settings.bot_timezone,
                                        now=args.now or SystemClock().now(), community=args.community)  # fmt: skip
        finally:
            await db.close()
        return await asyncio.to_thread(render, report, args.format)

    try:
        text = asyncio.run(go())
    except ValueError as exc:
        print(f"alcts-bot: {exc}", file=sys.stderr)
        return 2
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        print(f"Wrote {args.format} report to {args.out}")
    else:
        sys.stdout.write(text)
    return 0


# -- trivia check ---------------------------------------------------------------------------


def cmd_trivia_check(args: argparse.Namespace, settings: Settings) -> int:
    """Every problem as `file:line: message`; exit 1 when there is any."""
    from cogs.trivia.check import check_paths

    report = check_paths(args.files)
    for problem in report.problems:
        print(problem)
    for path, pack in report.packs:
        counts = {d: sum(1 for q in pack.questions if q.difficulty == d) for d in ("easy", "medium", "hard")}
        spread = ", ".join(f"{n} {d}" for d, n in counts.items())
        print(f"{path}: ok, {len(pack.questions)} questions in {pack.category} ({spread})")
    if report.giveaways or report.declared:
        found, declared = len(report.giveaways), report.declared
        print(f"Kept out of the same round: {found} pair{'s' if found != 1 else ''} where one question names the "
              f"other's answer, {declared} declared with related:." + ("" if args.pairs else " --pairs lists them."))
    if args.pairs:
        for pair in report.giveaways:
            print(f"  {pair.stem_of} names the answer of {pair.answer_of}: {pair.phrase}")
    if report.problems:
        print("The rules: a pack's category is its file name without .yaml, and every question id starts with "
              "the file name and a hyphen. alcts-bot trivia check --help explains them all.")
    return 1 if report.problems else 0


def _trivia_rules() -> str:
    from cogs.trivia.check import RULES

    return RULES


# -- slack-manifest -------------------------------------------------------------------------


def cmd_slack_manifest(args: argparse.Namespace, settings: Settings) -> int:
    from bot.platforms.slack_manifest import manifest_yaml, request_url

    try:
        url = request_url(args.url) if args.url else None
    except ValueError as exc:
        print(f"alcts-bot: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(manifest_yaml(settings, url))
    return 0


# -- db -----------------------------------------------------------------------------------


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from storage.db import Database

    async def go() -> str:
        db = Database(_db_path(args, settings), settings.bot_timezone)
        if args.db_command == "upgrade":
            await db.open()  # open() migrates
            version = await db.schema_version()
            await db.close()
            done = f"applied {', '.join(map(str, db.applied))}" if db.applied else "nothing to apply"
            return f"Database {db.path} is at schema version {version} ({done})."
        if args.path.resolve() == db.path.resolve():
            raise StoreUnavailable(f"{args.path} is the live database; back it up to another file")
        await db.open()
        try:
            await db.backup(args.path)
        finally:
            await db.close()
        return f"Backed up {db.path} to {args.path}."

    print(asyncio.run(go()))
    return 0


# -- stats import ---------------------------------------------------------------------------


def cmd_stats_import(args: argparse.Namespace, settings: Settings) -> int:
    """Upsert `date,platform,followers` rows into social_counts (source 'import').

    Bad rows are skipped, each named as `FILE:LINE: problem` on standard error, and the
    good rows are still imported (re-running the fixed file is safe: it upserts). A problem
    with the file as a whole (no header, not UTF-8, a quote left open) imports nothing and
    is one line. Exit 0 when every row was good, 1 when a row was bad, 2 when the file
    cannot be read or used."""
    from cogs.stats.social_csv import import_csv
    from storage.db import Database
    from storage.social import SocialStore

    try:
        data = args.file.read_bytes()
    except OSError as exc:
        print(f"alcts-bot: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    if not _db_path(args, settings).is_file():  # counts belong to the bot's database: never start a new one here
        print(f"alcts-bot: there is no database at {_db_path(args, settings)}", file=sys.stderr)
        return 2
    now = datetime.now(UTC)
    today = now.astimezone(settings.timezone).date()

    async def go() -> tuple[int, int, list[str], bool]:
        db = Database(_db_path(args, settings), settings.bot_timezone)
        await db.open()
        try:
            result = await import_csv(SocialStore(db), data, where=str(args.file), today=today, at=now)
        finally:
            await db.close()
        return len(result.rows) if not result.fatal else 0, result.skipped, result.problems, result.fatal

    imported, skipped, problems, fatal = asyncio.run(go())
    for problem in problems:
        print(problem, file=sys.stderr)
    if fatal:  # one line, above: nothing was imported
        return 2
    print(f"Imported {imported} row{'' if imported == 1 else 's'} ({skipped} skipped)")
    return 1 if problems else 0
