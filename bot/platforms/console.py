"""The console community: stdin/stdout, through the same `Bot.dispatch` as Discord and Slack.

Lines: `/group sub args` is a command; `:as`, `:channel`, `:click`, `:wait`, `:quit` are
console controls; anything else is a chat message in the current channel. Piped input
runs without a prompt and exits at end of input once pending work is done.

Link buttons print as `[Label → URL]` after the clickable ones; times in the community's
zone (`Thursday 3 December 2026, 14:00 CST`, or "in 2 hours" from the console's clock); a
direct message as a line starting `(direct to NAME)`, whose buttons that member can click.
"""

from __future__ import annotations

import asyncio
import shlex
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TextIO

from bot.app import Bot
from bot.cards import Card, readable_times, usable_links
from bot.clock import MovableClock
from bot.model import (
    ButtonPressed,
    CommandInvoked,
    Community,
    Member,
    MessagePosted,
    MessageRef,
    Place,
    Role,
)
from bot.text import echo
from bot.timeparse import parse_duration

PLATFORM = "console"
SHOW_FILES_UP_TO = 8192  # bytes of a text file (a CSV export) printed inline
LINK_URL_MAX = 2048
DIRECT = "@"  # a direct message's channel id is "@" + the member's id
LONGEST_WAIT = timedelta(days=400)  # one :wait; each due timer on the way runs in turn
CONTROLS = ":as NAME [member|moderator|organizer], :channel NAME, :click N|LABEL, :wait SECONDS, :quit"


@dataclass
class Shown:
    """A message the console printed, kept so `:click` can press its buttons."""

    ref: MessageRef
    card: Card
    owner: str | None  # the member an ephemeral message was shown to


class ConsolePlatform:
    name = PLATFORM

    def __init__(
        self, bot: Bot, clock: MovableClock, out: TextIO, *, member: str, role: Role, files_dir: Path,
    ) -> None:  # fmt: skip
        self.bot = bot
        self.files_dir = files_dir
        self.clock = clock
        self.out = out
        self.community = Community(PLATFORM, "local", "local")
        self.roles: dict[str, Role] = {}
        self.member = self._member(member, role)
        self.place = self._place("general")
        self.shown: list[Shown] = []
        self._stop: asyncio.Event | None = None
        self._next_id = 1
        self._printed: dict[str, MessageRef] = {}  # idempotency keys printed by this process

    # -- Platform --------------------------------------------------------------------------

    async def start(self) -> None:
        pass

    async def send(self, place: Place, card: Card, *, key: str | None = None, since: datetime | None = None) -> MessageRef:
        """With `key`: printed once per process. The console has no history: a key an
        earlier process may have printed before a crash is printed again (at-least-once,
        the rule in bot/platforms/base.py)."""
        if key is not None and key in self._printed:
            return self._printed[key]
        ref = await self._show(place, card, owner=None)
        if key is not None:
            self._printed[key] = ref
        return ref

    async def send_direct(
        self, member: Member, card: Card, *, key: str | None = None, since: datetime | None = None
    ) -> MessageRef:
        """Printed as `(direct to NAME) ...`; only that member can click its buttons. With
        `key`, once per process, as `send`."""
        if key is not None and key in self._printed:
            return self._printed[key]
        ref = await self._show(self._direct(member), card, owner=member.id)
        if key is not None:
            self._printed[key] = ref
        return ref

    async def edit(self, ref: MessageRef, card: Card) -> None:
        """Edits are not reprinted (a live tally would flood the screen); buttons update."""
        for shown in self.shown:
            if shown.ref == ref:
                shown.card = card

    async def close(self) -> None:
        pass

    # -- the read loop ---------------------------------------------------------------------

    def welcome(self, db_path: str) -> None:
        self._print(f'{self.bot.settings.bot_brand} community bot, console community "local" (SQLite: {db_path})')
        self._print(f"{self._whoami()} /help lists commands; :as, :channel, :click, :wait, :quit.")

    async def run(self, stdin: TextIO, stop: asyncio.Event) -> None:
        """Read lines until end of input, `:quit` or `stop`; each line finishes before the next."""
        self._stop = stop
        interactive = stdin.isatty()
        lines = _read_lines_in_background(stdin)
        while not stop.is_set():
            if interactive:
                self.out.write("> ")
                self.out.flush()
            getter = asyncio.ensure_future(lines.get())
            stopper = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                break
            stopper.cancel()
            line = getter.result()
            if line is None or not await self.handle(line.rstrip("\r\n")):
                break
            await self.bot.idle()

    async def handle(self, line: str) -> bool:
        """Act on one line; returns False when the session should end."""
        text = line.strip()
        if not text:
            return True
        if text.startswith(":"):
            return await self._control(text)
        if text.startswith("/"):
            await self.bot.dispatch(CommandInvoked(self.member, self.place, text=text[1:]), self._responder())
        else:
            await self.bot.dispatch(MessagePosted(self.member, self.place, text=text), self._responder())
        return True

    async def _control(self, text: str) -> bool:
        word, _, rest = text.partition(" ")
        rest = rest.strip()
        if word == ":quit":
            return False
        if word == ":as":
            try:
                parts = shlex.split(rest)  # `:as "bob smith" moderator`
            except ValueError:
                parts = []
            if not parts or len(parts) > 2:
                self._print("Usage: :as NAME [member|moderator|organizer]")
                return True
            try:
                role = Role.parse(parts[1]) if len(parts) == 2 else self.roles.get(parts[0].lower(), Role.MEMBER)
            except ValueError as exc:
                self._print(f"{exc}.")
                return True
            self.member = self._member(parts[0], role)
            self._print(self._whoami())
        elif word == ":channel":
            if not rest:
                self._print("Usage: :channel NAME")
                return True
            self.place = self._place(rest)
            self._print(self._whoami())
        elif word == ":click":
            await self._click(rest)
        elif word == ":wait":
            try:
                delta = parse_duration(rest, unit="s")  # `:wait 90` is seconds
            except ValueError as exc:
                self._print(f"Usage: :wait SECONDS ({exc}).")
                return True
            if delta > LONGEST_WAIT:
                self._print(f"Usage: :wait SECONDS (at most {LONGEST_WAIT.days} days at a time).")
                return True
            try:
                await self.wait(delta)
            except OverflowError:  # raised before the clock moves: a jump past the year 9999
                self._print(f"Usage: :wait SECONDS ({rest} is too long).")
        else:
            self._print(f"Unknown control {word}. Controls: {CONTROLS}.")
        return True

    async def wait(self, delta: timedelta) -> None:
        """Jump the clock forward, running every job that falls due on the way, in order."""
        target = self.clock.now() + delta
        while (due := await self.bot.scheduler.next_due()) is not None and due <= target:
            if self._stop is not None and self._stop.is_set():  # SIGTERM during a long wait
                return
            self.clock.set(due)
            await self.bot.scheduler.run_due()
            await self.bot.idle()
        self.clock.set(target)
        await self.bot.scheduler.run_due()
        await self.bot.idle()

    async def _click(self, which: str) -> None:
        here = (self.place.channel_id, self._direct(self.member).channel_id)  # this channel and my DMs
        target = next(
            (s for s in reversed(self.shown)
             if s.card.buttons and s.ref.channel_id in here and s.owner in (None, self.member.id)),
            None,
        )  # fmt: skip
        if target is None:
            self._print("There is no message with buttons here to click.")
            return
        buttons = target.card.buttons
        chosen = None
        if which.isdigit() and 1 <= int(which) <= len(buttons):
            chosen = buttons[int(which) - 1]
        else:
            wanted = which.lower()
            chosen = next((b for b in buttons if b.label.lower() == wanted), None)
            if chosen is None and len(wanted) == 1 and wanted.isalpha():  # `B` for `B. Bibframe`
                chosen = next((b for b in buttons if b.label.lower().startswith(wanted + ".")), None)
            if chosen is None:  # `Going` for a button that now reads `Going (3)`
                starting = [b for b in buttons if b.label.lower().startswith(wanted)]
                chosen = starting[0] if wanted and len(starting) == 1 else None
        if chosen is None:
            labels = " ".join(f"[{i} {b.label}]" for i, b in enumerate(buttons, 1))
            self._print(f"No button '{echo(which)}' on the latest message: {labels}")
            return
        place = self.place if target.ref.channel_id == self.place.channel_id else self._direct(self.member)
        event = ButtonPressed(self.member, place, custom_id=chosen.custom_id, message=target.ref)
        await self.bot.dispatch(event, ConsoleResponder(self, place, self.member))

    # -- output ------------------------------------------------------------------------------

    def _responder(self) -> ConsoleResponder:
        return ConsoleResponder(self, self.place, self.member)

    async def _show(self, place: Place, card: Card, owner: str | None) -> MessageRef:
        ref = MessageRef(PLATFORM, place.channel_id, str(self._next_id))
        self._next_id += 1
        self.shown.append(Shown(ref, card, owner))
        config = await self.bot.config.get(place.community)
        tz, now = self.bot.config.timezone(config), self.bot.clock.now()
        if place.channel_id.startswith(DIRECT):
            prefix, card = f"(direct to {place.channel_name}) ", replace(card, ephemeral=False)
        else:
            prefix = "" if place.channel_id == self.place.channel_id else f"[#{place.channel_name}] "
        self._print(prefix + render(card, self._save_attachments(card), tz=tz, now=now))
        return ref

    def _save_attachments(self, card: Card) -> dict[str, Path]:
        """Charts and exports go to files the person can open; their paths are printed."""
        saved = {}
        for item in (card.image, card.file):
            if item is not None:
                self.files_dir.mkdir(parents=True, exist_ok=True)
                path = self.files_dir / item.filename
                path.write_bytes(item.data)
                saved[item.filename] = path
        return saved

    def _print(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def _member(self, name: str, role: Role) -> Member:
        name = name.lstrip("@")
        self.roles[name.lower()] = role
        return Member(PLATFORM, name.lower(), name, role)

    def _direct(self, member: Member) -> Place:
        return Place(self.community, DIRECT + member.id, member.display_name)

    def _place(self, name: str) -> Place:
        name = name.lstrip("#").lower()
        return Place(self.community, name, name)

    def _whoami(self) -> str:
        return f"You are @{self.member.display_name} ({self.member.role.label}) in #{self.place.channel_name}."


class ConsoleResponder:
    def __init__(self, console: ConsolePlatform, place: Place, member: Member) -> None:
        self.console = console
        self.place = place
        self.member = member

    async def respond(self, card: Card) -> MessageRef:
        direct = self.place.channel_id.startswith(DIRECT)  # answers to a click in a DM stay in it
        owner = self.member.id if card.ephemeral or direct else None
        return await self.console._show(self.place, card, owner=owner)


def render(card: Card, saved: dict[str, Path] | None = None, *, tz: tzinfo = UTC, now: datetime | None = None) -> str:
    """A card as console text: title, text, aligned fields, footer, then `[1 Label]` buttons
    and `[Label → URL]` links. Times are written in zone `tz`, relative ones from `now`."""
    saved = saved or {}

    def words(text: str) -> str:
        return readable_times(text, tz, now)

    lines: list[str] = []
    if card.title:
        lines.append(words(card.title))
    if card.text:
        lines.extend(words(card.text).splitlines())
    if card.fields:
        fields = [(words(f.name), words(f.value)) for f in card.fields]
        width = max(len(name) for name, _ in fields)
        for name, value in fields:
            value_lines = value.splitlines() or [""]
            lines.append(f"  {name.ljust(width)}  {value_lines[0]}".rstrip())
            lines.extend(f"  {' ' * width}  {extra}" for extra in value_lines[1:])
    if card.image is not None:
        where = f", saved to {saved[card.image.filename]}" if card.image.filename in saved else ""
        lines.append(f"  (chart: {card.image.alt or card.image.filename}{where})")
    if card.file is not None:
        if card.file.mime.startswith("text/") and len(card.file.data) <= SHOW_FILES_UP_TO:
            lines.extend(card.file.data.decode("utf-8-sig").splitlines())  # a CSV starts with a BOM for Excel
        if card.file.filename in saved:
            lines.append(f"  (saved to {saved[card.file.filename]})")
    if card.footer:
        lines.append(words(card.footer))
    shown = [f"[{i} {words(b.label)}]" for i, b in enumerate(card.buttons, 1)]
    shown += [f"[{words(link.label)} \u2192 {link.url}]" for link in usable_links(card.links, LINK_URL_MAX)]
    if shown:
        lines.append(" ".join(shown))
    if card.ephemeral and lines:
        lines[0] = "(only you) " + lines[0]
    return "\n".join(lines)


def _read_lines_in_background(stdin: TextIO) -> asyncio.Queue[str | None]:
    """stdin is read on a daemon thread, so a pending read never blocks shutdown."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def pump() -> None:
        try:
            for line in iter(stdin.readline, ""):
                loop.call_soon_threadsafe(queue.put_nowait, line)
            loop.call_soon_threadsafe(queue.put_nowait, None)
        except RuntimeError:  # the loop closed first: the session is over
            pass

    threading.Thread(target=pump, name="console-stdin", daemon=True).start()
    return queue

