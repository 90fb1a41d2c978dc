"""The CLI contract, run as a new user would: a real subprocess with piped input."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def alcts(tmp_path: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_", "BOT_"))}
    clean.update({"BOT_DATABASE": str(tmp_path / "bot.sqlite3"), "PYTHONPATH": str(ROOT), **env})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True,
        cwd=tmp_path, env=clean, timeout=60,
    )  # fmt: skip


def test_piped_console_prints_help_and_follow(tmp_path: Path) -> None:
    result = alcts(tmp_path, "shell", stdin="/help\n/follow\n")
    assert result.returncode == 0, result.stderr
    assert "Commands you can use" in result.stdout
    assert "You now follow ALCTS here. 1 of 1 members follow (100%)." in result.stdout
    assert "> " not in result.stdout  # no prompt when piped
    assert result.stderr == ""


def test_console_session_with_members_channels_and_quit(tmp_path: Path) -> None:
    script = "\n".join([
        ":as ann", "/follow", ":channel random", ":as ben moderator", "/follow",
        ":click 1", ":wait 90s", ":frobnicate", ":as", ":quit", "/follow",
    ])  # fmt: skip
    result = alcts(tmp_path, "shell", "--as", "zed", stdin=script)
    out = result.stdout
    assert result.returncode == 0
    assert "You are @zed (member) in #general." in out
    assert "You are @ann (member) in #general." in out
    assert "You are @ann (member) in #random." in out
    assert "You are @ben (moderator) in #random." in out
    assert "2 of 2 members follow" in out
    assert "There is no message with buttons here to click." in out
    assert "Unknown control :frobnicate." in out
    assert "Usage: :as NAME" in out
    assert out.count("follow (") == 2  # nothing after :quit


def test_console_state_persists_across_sessions(tmp_path: Path) -> None:
    alcts(tmp_path, "shell", "--as", "ann", stdin="/follow\n")
    result = alcts(tmp_path, "shell", "--as", "ann", stdin="/follow\n")
    assert "You already follow ALCTS here." in result.stdout


def test_run_without_credentials_exits_2_with_one_line(tmp_path: Path) -> None:
    result = alcts(tmp_path, "run")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "DISCORD_TOKEN" in lines[0] and "SLACK_BOT_TOKEN" in lines[0] and "alcts-bot shell" in lines[0]


def test_bad_configuration_prints_one_line_per_problem_and_exits_2(tmp_path: Path) -> None:
    result = alcts(tmp_path, "shell", BOT_HTTP_PORT="http", BOT_TIMEZONE="Mars/Base")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2
    assert any(line.startswith("config: BOT_HTTP_PORT:") for line in lines)
    assert any("BOT_TIMEZONE" in line and "is not a time zone" in line for line in lines)


def test_dotenv_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("BOT_BRAND=NASIG\n")
    result = alcts(tmp_path, "shell", stdin="/follow\n")
    assert "You now follow NASIG here." in result.stdout


def test_db_upgrade_and_backup(tmp_path: Path) -> None:
    first = alcts(tmp_path, "db", "upgrade")
    assert first.returncode == 0 and "(applied 1" in first.stdout
    second = alcts(tmp_path, "db", "upgrade")
    assert "nothing to apply" in second.stdout
    alcts(tmp_path, "shell", stdin="/follow\n")
    backup = alcts(tmp_path, "db", "backup", str(tmp_path / "backups" / "copy.sqlite3"))
    assert backup.returncode == 0
    with sqlite3.connect(tmp_path / "backups" / "copy.sqlite3") as conn:
        assert conn.execute("SELECT COUNT(*) FROM follows").fetchone()[0] == 1


@pytest.mark.parametrize("fmt", ["json", "csv", "html"])
def test_report_formats(tmp_path: Path, fmt: str) -> None:
    alcts(tmp_path, "shell", stdin="/follow\n:as ann\n/help\n/follow\n/unfollow\n/follow\n/follow\n")
    result = alcts(tmp_path, "report", "--format", fmt, "--days", "7")
    assert result.returncode == 0, result.stderr
    if fmt == "json":
        data = json.loads(result.stdout)
        local = next(s for s in data["scopes"] if s["scope"] == "console:local")
        assert (local["followers_end"], local["members_end"], local["follow_rate_end"]) == (2, 2, 1.0)
        assert sum(day["follows"] for day in local["days"]) == 3  # changes of state: you, ann, ann again
        assert sum(day["unfollows"] for day in local["days"]) == 1  # not the repeated /follow commands
        assert local["dau"] == 2 and local["reference_rate"] == 0.25
    elif fmt == "csv":
        header, *rows = result.stdout.strip().splitlines()
        assert header == "scope,day,members,followers,follow_rate,follows,unfollows,active_members"
        assert rows[-1].startswith("console:local,") and rows[-1].endswith(",2,2,1.0,3,1,2")
    else:
        assert "<h2 id=\"console:local\">console:local</h2>" in result.stdout
        assert result.stdout.count("data:image/png;base64,") >= 3 and "25%" in result.stdout


def test_report_to_a_file(tmp_path: Path) -> None:
    missing = alcts(tmp_path, "report")
    assert missing.returncode == 2 and "there is no database at" in missing.stderr  # a report never makes one
    assert not (tmp_path / "bot.sqlite3").exists()
    alcts(tmp_path, "db", "upgrade")
    result = alcts(tmp_path, "report", "--out", str(tmp_path / "out" / "report.html"))
    assert result.returncode == 0
    assert "Wrote html report to" in result.stdout
    assert "No counts yet" in (tmp_path / "out" / "report.html").read_text()


def test_report_for_an_unknown_community_is_one_line(tmp_path: Path) -> None:
    alcts(tmp_path, "shell", stdin="/follow\n")
    result = alcts(tmp_path, "report", "--community", "nowhere")
    assert result.returncode == 2 and "there is no community 'nowhere'" in result.stderr


def test_shell_start_up_does_not_import_platform_libraries(tmp_path: Path) -> None:
    code = (
        "import sys, bot.cli, bot.app, bot.platforms.console, cogs.help;"
        "print([m for m in ('discord', 'slack_bolt', 'slack_sdk', 'matplotlib') if m in sys.modules])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip() == "[]"


def test_the_example_env_file_works_as_a_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text())
    result = alcts(tmp_path, "run")
    assert result.returncode == 2, result.stderr  # empty tokens mean no platform
    result = alcts(tmp_path, "shell", stdin="/follow\n", BOT_DATABASE="")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "alcts-bot.sqlite3").exists()


def test_sigterm_stops_the_shell_gracefully_and_flushes(tmp_path: Path) -> None:
    import signal

    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_", "BOT_"))}
    clean.update({"BOT_DATABASE": str(tmp_path / "bot.sqlite3"), "PYTHONPATH": str(ROOT)})
    proc = subprocess.Popen([sys.executable, "-m", "bot", "shell"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, cwd=tmp_path, env=clean)  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("/follow\n")
    proc.stdin.flush()
    while "You now follow" not in proc.stdout.readline():
        pass
    proc.send_signal(signal.SIGTERM)  # stdin stays open: only the signal can end it
    assert proc.wait(timeout=30) == 0
    with sqlite3.connect(tmp_path / "bot.sqlite3") as conn:
        assert conn.execute("SELECT COUNT(*) FROM follows").fetchone()[0] == 1
        assert conn.execute("SELECT COUNT(*) FROM engagement_events").fetchone()[0] == 1
    proc.stdin.close()


def test_env_example_and_readme_list_every_setting() -> None:
    from bot.config import Settings

    example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    for name in Settings.model_fields:
        assert f"\n{name.upper()}=" in example, name
        assert f"`{name.upper()}`" in readme, name


def test_piped_trivia_round_with_three_members_prints_the_standings(tmp_path: Path) -> None:
    script = ["/trivia start marc21 questions=3 seconds=20"]
    for _ in range(3):
        script += [":as ann", ":click 1", ":as ben", ":click 2", ":as cat", ":click 3", ":wait 25"]
    result = alcts(tmp_path, "shell", stdin="\n".join(script) + "\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("Question ") == 3 and out.count("Answer: ") == 3
    standings = out.split("Round over: standings")[1]
    assert "That was the last of 3 questions." in standings
    assert all(f". {name}" in standings for name in ("ann", "ben", "cat"))


def test_piped_poll_with_a_changed_vote_closes_with_exact_results_and_exports(tmp_path: Path) -> None:
    script = [
        ":as ann", '/poll create "Which metadata standard do you use most?" MARC RDA "Dublin Core"',
        ":click 2", ":as ben", ":click 1", ":as cat", ":click 1", ":click 3",
        ":as ann", "/poll close 1", ":as olga organizer", "/poll export 1",
    ]  # fmt: skip
    result = alcts(tmp_path, "shell", stdin="\n".join(script) + "\n")
    assert result.returncode == 0, result.stderr
    closed = result.stdout.split("Poll #1 closed.")[1]
    assert "MARC         1  #######                34%" in closed  # largest remainder: 34 + 33 + 33 = 100
    assert "RDA          1  #######                33%" in closed
    assert "Dublin Core  1  #######                33%" in closed
    assert "option,votes,share_percent\nMARC,1,33.4\nRDA,1,33.3\nDublin Core,1,33.3" in result.stdout
    assert (tmp_path / "bot-files" / "poll-1.csv").read_text("utf-8-sig").startswith("option,votes,share")
    other = alcts(tmp_path, "shell", "--db", str(tmp_path / "other.sqlite3"), stdin="\n".join(script) + "\n")
    assert other.returncode == 0 and (tmp_path / "other-files" / "poll-1.csv").is_file()  # its own folder


def test_daily_question_resumes_after_a_36_hour_outage_with_now(tmp_path: Path) -> None:
    """Issue 9's done-means: sessions started with --now, a day and a half apart."""
    first = alcts(tmp_path, "shell", "--role", "moderator", "--now", "2026-12-01T12:00:00Z",
                  stdin="/trivia daily on at=10:00\n:quit\n")  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert "every day at 10:00 (America/Chicago), the next in 4 hours" in first.stdout
    second = alcts(tmp_path, "shell", "--now", "2026-12-03T00:00:00Z", stdin=":wait 3d\n")
    assert second.returncode == 0, second.stderr
    assert second.stdout.count("Question of the day") == 3
    with sqlite3.connect(tmp_path / "bot.sqlite3") as db:
        posted = db.execute("SELECT day, posted_at FROM trivia_daily ORDER BY id").fetchall()
    assert [(day, at[:16]) for day, at in posted] == [(f"2026-12-0{d}", f"2026-12-0{d}T16:00") for d in (3, 4, 5)]


def test_a_bad_now_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = alcts(tmp_path, "shell", "--now", "next tuesday")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "ISO 8601" in result.stderr


BAD_DATABASES = {
    "random bytes": lambda tmp: (tmp / "c.sqlite3").write_bytes(os.urandom(50_000)) and tmp / "c.sqlite3",
    "a folder": lambda tmp: (tmp / "d.sqlite3").mkdir() or tmp / "d.sqlite3",
    "a path under a file": lambda tmp: (tmp / "f").write_text("x") and tmp / "f" / "bot.sqlite3",
    "a newer schema": lambda tmp: _newer_schema(tmp / "n.sqlite3"),
}


def _newer_schema(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at TEXT)")
        conn.execute("INSERT INTO schema_migrations VALUES (999, 'future', 'later')")
    return path


@pytest.mark.parametrize("case", sorted(BAD_DATABASES))
@pytest.mark.parametrize("command", ["shell", "report", "db upgrade", "db backup", "run"])
def test_a_bad_database_is_one_line_and_exit_2(tmp_path: Path, case: str, command: str) -> None:
    db = BAD_DATABASES[case](tmp_path)
    args = [*command.split(), "--db", str(db)] if command != "run" else ["run"]
    if command == "db backup":
        args.append(str(tmp_path / "copy.sqlite3"))
    env = {"BOT_DATABASE": str(db), "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s"}
    result = alcts(tmp_path, *args, stdin="/help\n", **env)  # a hang would hit the 60 s timeout
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("alcts-bot: "), result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_db_backup_refuses_to_write_onto_the_live_database(tmp_path: Path) -> None:
    alcts(tmp_path, "shell", stdin="/follow\n")
    result = alcts(tmp_path, "db", "backup", str(tmp_path / "bot.sqlite3"))
    assert result.returncode == 2 and "is the live database" in result.stderr
    with sqlite3.connect(tmp_path / "bot.sqlite3") as conn:
        assert conn.execute("SELECT COUNT(*) FROM follows").fetchone()[0] == 1


def test_the_report_counts_runs_that_never_stopped_cleanly(tmp_path: Path) -> None:
    import signal

    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_", "BOT_"))}
    clean.update({"BOT_DATABASE": str(tmp_path / "bot.sqlite3"), "PYTHONPATH": str(ROOT)})
    proc = subprocess.Popen([sys.executable, "-m", "bot", "shell"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, cwd=tmp_path, env=clean)  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("/follow\n")
    proc.stdin.flush()
    while "You now follow" not in proc.stdout.readline():
        pass
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdin.close()
    alcts(tmp_path, "shell", stdin="/help\n")  # a clean run
    report = alcts(tmp_path, "report", "--format", "json")
    assert json.loads(report.stdout)["unclean_stops"] == 1
    html = alcts(tmp_path, "report").stdout
    assert "1 run of the bot in this period recorded no clean stop" in html


def test_shell_runs_what_fell_due_before_reading_input_and_keeps_the_poll_key_beside_db(tmp_path: Path) -> None:
    db = tmp_path / "elsewhere" / "club.sqlite3"
    db.parent.mkdir()
    alcts(tmp_path, "shell", "--db", str(db), "--now", "2026-12-01T12:00:00Z",
          stdin='/poll create "Best?" A B closes=2h\n:click 1\n')  # fmt: skip
    later = alcts(tmp_path, "shell", "--db", str(db), "--now", "2026-12-05T15:00:00Z", stdin="/poll results 1\n")
    assert later.returncode == 0, later.stderr
    assert "Poll #1 closed." in later.stdout and "(open" not in later.stdout
    assert (db.parent / "club.poll-key").exists() and not (tmp_path / "data").exists()
    assert (db.parent / "club.sqlite3.log").exists()


@pytest.mark.parametrize("wait", ["99999999999", "401d"])
def test_a_huge_wait_is_one_usage_line(tmp_path: Path, wait: str) -> None:
    result = alcts(tmp_path, "shell", stdin=f":wait {wait}\n")
    assert result.returncode == 0 and result.stderr == ""
    assert "Usage: :wait SECONDS" in result.stdout


def test_now_out_of_range_is_one_line(tmp_path: Path) -> None:
    result = alcts(tmp_path, "shell", "--now", "0001-01-01T00:00:00Z")
    assert result.returncode == 2 and "out of range" in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.parametrize("content", ["", "zzzz", "abcd"])
def test_a_poll_key_file_that_holds_no_key_is_one_line_and_exit_2(tmp_path: Path, content: str) -> None:
    (tmp_path / "k.key").write_text(content)
    result = alcts(tmp_path, "shell", stdin="/help\n", BOT_POLL_KEY_FILE=str(tmp_path / "k.key"))
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "is not a key" in result.stderr
