"""Bursts of signed vote clicks against `alcts-bot run`, for the durability tests.

`BotProcess` runs the real entry point as a subprocess against the fake Slack, which runs
in the test process (so killing the bot leaves the fake, and what it saw, intact). `fire`
sends clicks from many members at once and records each one's HTTP answer: an accepted
click is acked with an empty body, a refused one (busy, restarting) with its text.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.e2e.slack.conftest import ANN, GENERAL, free_port
from tests.e2e.slack.fake_slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, Post, SlackWire

ALCTS = str(Path(sys.executable).parent / "alcts-bot")
VOTERS = 1000


def voter(n: int) -> str:
    return f"U9{n:07d}"


def add_voters(fake: FakeSlack, count: int = VOTERS) -> list[str]:
    users = [voter(n) for n in range(count)]
    for user in users:
        fake.add_user(user, f"member{user[2:]}")
    fake.channels[GENERAL].members.update(users)
    return users


@dataclass
class Click:
    user: str
    option: int
    status: int = 0  # 0: no answer (the connection failed or was cut)
    text: str = ""

    @property
    def accepted(self) -> bool:
        """Acknowledged as taken: 200 without a refusal's text."""
        return self.status == 200 and not self.text

    @property
    def refused(self) -> str | None:
        if self.status != 200 or not self.text:
            return None
        return str(json.loads(self.text)["text"])


class BotProcess:
    """`alcts-bot run` on one database; each start is a new process (and log file)."""

    def __init__(self, tmp_path: Path, fake: FakeSlack) -> None:
        self.tmp_path = tmp_path
        self.fake = fake
        self.proc: asyncio.subprocess.Process | None = None
        self.logs: list[Path] = []
        self.port = 0
        self.database = tmp_path / "bot.sqlite3"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    async def start(self) -> BotProcess:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_", "BOT_"))}
        env.update(BOT_DATABASE=str(self.database), SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                   SLACK_API_URL=self.fake.api_url, BOT_HTTP_PORT=str(self.port))  # fmt: skip
        log = self.tmp_path / f"bot-{len(self.logs) + 1}.log"
        self.logs.append(log)
        with log.open("wb") as stderr:  # a file, not a pipe: nobody has to keep reading it
            self.proc = await asyncio.create_subprocess_exec(
                ALCTS, "run", cwd=self.tmp_path, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=stderr
            )
        await self._healthy()
        return self

    async def _healthy(self) -> None:
        deadline = time.monotonic() + 30
        async with aiohttp.ClientSession() as session:
            while True:
                assert self.proc is not None and self.proc.returncode is None, self.log_text()
                try:
                    async with session.get(f"http://127.0.0.1:{self.port}/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientConnectionError:
                    pass
                assert time.monotonic() < deadline, "no /healthz"
                await asyncio.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)

    async def terminate(self) -> int:
        """SIGTERM, then the exit code (within the drain's bound and a margin)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), 90)

    async def wait(self) -> int:
        assert self.proc is not None
        return await self.proc.wait()

    def log_text(self) -> str:
        return "".join(path.read_text(errors="replace") for path in self.logs if path.exists())


async def until(check: Callable[[], object], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def create_poll(bot: BotProcess, options: int = 3) -> tuple[Post, list[str]]:
    """`/alcts poll create` by a signed slash command; the poll's message and its votes' values."""
    choices = " ".join(f"Choice{n}" for n in range(options))
    wire = SlackWire(bot.fake, bot.url)
    async with aiohttp.ClientSession() as session:
        status, _ = await wire.post(session, "command", wire.command(f'poll create "Where shall we meet?" {choices}',
                                                                     ANN, GENERAL))  # fmt: skip
    assert status == 200
    await until(lambda: any(p.buttons() for p in bot.fake.in_channel(GENERAL)))
    [poll] = [p for p in bot.fake.in_channel(GENERAL) if p.buttons()]
    return poll, [b["value"] for b in poll.buttons()]


def poll_id(values: list[str]) -> int:
    return int(values[0].split(":")[1])  # poll.vote:<poll>:<option>


def vote_clicks(users: list[str], options: int) -> list[Click]:
    return [Click(user, n % options) for n, user in enumerate(users)]


async def fire(url: str, wire: SlackWire, clicks: list[Click], values: list[str], message_ts: str, *,
               concurrency: int = 100, answered: Callable[[Click], None] | None = None) -> None:  # fmt: skip
    """Send every click at once (`concurrency` connections); record each one's answer."""
    requests = []
    for click in clicks:
        body, content_type = wire.encode("interactive", wire.click(values[click.option], click.user, GENERAL, message_ts))
        requests.append((body.encode(), {"Content-Type": content_type, **wire.sign(body)}))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:

        async def one(click: Click, body: bytes, headers: dict[str, str]) -> None:
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    text = await response.text()
            except (aiohttp.ClientError, TimeoutError):
                return
            click.status, click.text = response.status, text
            if answered is not None:
                answered(click)

        await asyncio.gather(*(one(click, *request) for click, request in zip(clicks, requests, strict=True)))


def stored_votes(database: Path, poll_id: int) -> list[tuple[str, int]]:
    """(voter, option) rows, read by a connection of the test's own."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        return [(r[0], r[1]) for r in conn.execute("SELECT voter, position FROM poll_votes WHERE poll_id = ?", (poll_id,))]


def integrity(database: Path) -> str:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def check_every_accepted_vote_stored_once(clicks: list[Click], rows: list[tuple[str, int]]) -> None:
    """Every click acked as taken is stored exactly once, with the option clicked; nothing
    is stored that was not sent (a click cut off before its ack may or may not count)."""
    voters = [user for user, _ in rows]
    assert len(voters) == len(set(voters)), "a member's vote is stored twice"
    stored = dict(rows)
    sent = {click.user: click.option for click in clicks}
    lost = [click.user for click in clicks if click.accepted and stored.get(click.user) != click.option]
    assert not lost, f"{len(lost)} acknowledged votes are not stored, e.g. {lost[:3]}"
    assert all(sent.get(user) == option for user, option in rows), "a stored vote nobody cast"
