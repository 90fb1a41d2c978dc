"""Group commit (issue #15): units of work waiting together share one transaction, a
savepoint each; a failing unit is rolled back alone; each caller is answered only after the
COMMIT. Commits are counted in the write-ahead log itself (tests/wal_attack.commits), so
"one transaction" means one commit record on disk, not a counter of ours."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from bot.model import ButtonPressed, Member, MessageRef
from cogs.polls import Polls
from storage.db import Database
from storage.single_flight import SingleFlight
from storage.unit_of_work import Tx
from tests.harness import TestBot
from tests.wal_attack import commits


async def opened(tmp_path: Path) -> Database:
    db = Database(tmp_path / "bot.sqlite3")
    await db.open()
    await db.execute("CREATE TABLE t (n INTEGER PRIMARY KEY, label TEXT UNIQUE)")
    return db


async def fresh_log(db: Database) -> None:
    """Buffered rows written, then the log checkpointed and truncated: it holds nothing."""
    await db.flush()
    assert await db.checkpoint()


def commits_in_log(db: Database) -> int:
    return len(commits(Path(f"{db.path}-wal").read_bytes()))


def stored(db: Database, sql: str = "SELECT n FROM t ORDER BY n") -> list[int]:
    """Read by a connection of its own: what is committed, and only that."""
    with closing(sqlite3.connect(db.path)) as conn:
        return [row[0] for row in conn.execute(sql)]


def insert(n: int, fail: BaseException | None = None):  # noqa: ANN201
    def unit(tx: Tx) -> int:
        rowid = tx.insert("INSERT INTO t (n, label) VALUES (?, ?)", (n, f"row {n}"))
        if fail is not None:
            raise fail
        return rowid

    return unit


async def test_concurrent_units_share_one_transaction(tmp_path: Path) -> None:
    db = await opened(tmp_path)
    await fresh_log(db)
    groups = db.groups
    results = await asyncio.gather(*(db.unit(insert(n)) for n in range(1, 201)))
    assert results == list(range(1, 201))  # each caller gets its own unit's result
    assert stored(db) == list(range(1, 201))
    assert commits_in_log(db) == 1  # 200 units, one COMMIT
    assert db.groups == groups + 1
    await db.close()


async def test_a_failing_unit_rolls_back_alone_and_its_caller_gets_the_error(tmp_path: Path) -> None:
    db = await opened(tmp_path)
    await db.execute("INSERT INTO t (n, label) VALUES (1000, 'taken')")
    await fresh_log(db)

    def clash(tx: Tx) -> None:  # a constraint error from SQLite
        tx.execute("INSERT INTO t (n, label) VALUES (?, ?)", (7000, "taken"))

    units = [insert(1), insert(2, fail=ValueError("decided against it")), clash, insert(3)]
    results = await asyncio.gather(*(db.unit(u) for u in units), return_exceptions=True)
    assert results[0] == 1 and results[3] == 3
    assert isinstance(results[1], ValueError) and str(results[1]) == "decided against it"
    assert isinstance(results[2], sqlite3.IntegrityError)
    assert stored(db) == [1, 3, 1000]  # unit 2's insert before it raised is rolled back too
    assert commits_in_log(db) == 1  # the others still committed together
    await db.close()


async def test_callers_resume_only_after_their_commit(tmp_path: Path) -> None:
    db = await opened(tmp_path)
    seen_on_resume: dict[int, bool] = {}

    async def vote(n: int) -> None:
        await db.unit(insert(n))
        seen_on_resume[n] = n in stored(db)  # a second connection sees only committed rows

    await asyncio.gather(*(vote(n) for n in range(1, 51)))
    assert seen_on_resume == {n: True for n in range(1, 51)}
    await db.close()


async def test_a_unit_that_ends_the_transaction_does_not_take_the_others_with_it(tmp_path: Path) -> None:
    """SQLite rolls the whole transaction back on some errors (a full disk, an I/O error);
    the failing unit keeps its error and the others run again in a new transaction."""
    db = await opened(tmp_path)
    runs: dict[int, int] = {}

    def counted(n: int):  # noqa: ANN202
        def unit(tx: Tx) -> int:
            runs[n] = runs.get(n, 0) + 1
            return insert(n)(tx)

        return unit

    def fatal(tx: Tx) -> None:
        tx.insert("INSERT INTO t (n, label) VALUES (99, 'lost')")
        tx.execute("ROLLBACK")  # what SQLite does itself on SQLITE_FULL or SQLITE_IOERR
        raise sqlite3.OperationalError("database or disk is full")

    results = await asyncio.gather(db.unit(counted(1)), db.unit(fatal), db.unit(counted(2)), return_exceptions=True)
    assert results[0] == 1 and results[2] == 2
    assert isinstance(results[1], sqlite3.OperationalError)
    assert stored(db) == [1, 2]
    assert runs == {1: 2, 2: 1}  # unit 1 ran again (its first run was rolled back); unit 2 ran once
    await db.close()


async def test_buffered_rows_ride_in_the_group_commit(tmp_path: Path) -> None:
    db = await opened(tmp_path)
    await fresh_log(db)
    for n in range(500, 510):
        db.enqueue("INSERT INTO t (n, label) VALUES (?, ?)", (n, f"event {n}"))
    await asyncio.gather(db.unit(insert(1)), db.unit(insert(2)))
    assert stored(db) == [1, 2, *range(500, 510)]  # committed with the units, before they were answered
    assert commits_in_log(db) == 1
    await db.close()


async def test_bad_buffered_rows_do_not_fail_the_units(tmp_path: Path) -> None:
    db = await opened(tmp_path)
    db.enqueue("INSERT INTO t (n, label) VALUES (?, ?)", (600, "same"))
    db.enqueue("INSERT INTO t (n, label) VALUES (?, ?)", (601, "same"))  # UNIQUE: the batch fails
    assert await db.unit(insert(1)) == 1
    assert stored(db) == [1]
    await db.flush()  # the slow way: row by row, the bad one set aside
    assert stored(db) == [1, 600] and db.rejected == 1
    await db.close()


async def test_execute_insert_and_transactions_still_work_beside_units(tmp_path: Path) -> None:
    db = await opened(tmp_path)

    async def in_transaction(n: int) -> None:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO t (n, label) VALUES (?, ?)", (n, f"tx {n}"))

    await asyncio.gather(
        *(db.unit(insert(n)) for n in range(1, 21)),
        *(in_transaction(n) for n in range(21, 31)),
        *(db.insert("INSERT INTO t (n, label) VALUES (?, ?)", (n, f"insert {n}")) for n in range(31, 41)),
        *(db.execute("INSERT INTO t (n, label) VALUES (?, ?)", (n, f"execute {n}")) for n in range(41, 51)),
    )
    assert stored(db) == list(range(1, 51))
    assert await db.execute("UPDATE t SET label = label || '!' WHERE n <= 10") == 10
    assert await db.execute("PRAGMA user_version = 3") == -1  # a PRAGMA runs alone, outside any group
    assert stored(db, "PRAGMA user_version") == [3]
    await db.close()


async def test_a_transaction_never_interleaves_with_a_group(tmp_path: Path) -> None:
    """Units sent while a `transaction()` holds the writer (awaiting between its
    statements) wait for its COMMIT: none runs inside it."""
    db = await opened(tmp_path)
    await fresh_log(db)
    inside, release = asyncio.Event(), asyncio.Event()

    async def held() -> int:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO t (n, label) VALUES (1000, 'tx 1000')")
            inside.set()
            await release.wait()
            rows = await conn.execute_fetchall("SELECT COUNT(*) FROM t WHERE n < 1000")
            await conn.execute("INSERT INTO t (n, label) VALUES (1001, 'tx 1001')")
        return rows[0][0]

    transaction = asyncio.ensure_future(held())
    await inside.wait()
    units = [asyncio.ensure_future(db.unit(insert(n))) for n in range(1, 201)]
    await settle()
    assert not any(unit.done() for unit in units)
    release.set()
    assert await transaction == 0  # no unit's row inside the transaction
    assert await asyncio.gather(*units) == list(range(1, 201))
    assert stored(db) == [*range(1, 201), 1000, 1001]
    assert commits_in_log(db) == 2  # the transaction's COMMIT, then the group's
    await db.close()


async def test_dependent_units_keep_their_order_across_groups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each unit sees the writes of every unit sent before it, in its group or an earlier one."""
    monkeypatch.setattr("storage.db.MAX_GROUP", 3)
    db = await opened(tmp_path)
    groups = db.groups

    def after(n: int):  # noqa: ANN202
        def unit(tx: Tx) -> int:
            before = tx.scalar("SELECT COUNT(*) FROM t")
            tx.insert("INSERT INTO t (n, label) VALUES (?, ?)", (n, f"row {n}"))
            return before

        return unit

    assert await asyncio.gather(*(db.unit(after(n)) for n in range(1, 11))) == list(range(10))
    assert db.groups - groups == 4  # 3 + 3 + 3 + 1
    await db.close()


async def test_closing_answers_every_unit_sent(tmp_path: Path) -> None:
    db = await opened(tmp_path)
    pending = [asyncio.ensure_future(db.unit(insert(n))) for n in range(1, 31)]
    await asyncio.sleep(0)  # every unit queued, none committed yet
    await db.close()
    assert [task.result() for task in pending] == list(range(1, 31))
    assert stored(db) == list(range(1, 31))


# -- single-flight caches ---------------------------------------------------------------------


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_concurrent_readers_of_a_missing_key_share_one_load() -> None:
    loads: list[int] = []
    release = asyncio.Event()

    async def load(key: int) -> str:
        loads.append(key)
        await release.wait()
        return f"value {key}"

    cache: SingleFlight[int, str] = SingleFlight(load)
    readers = [asyncio.ensure_future(cache.get(1)) for _ in range(100)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*readers) == ["value 1"] * 100
    assert loads == [1]
    assert await cache.get(1) == "value 1" and loads == [1]  # kept


async def test_a_load_that_raced_a_change_is_not_kept() -> None:
    releases: list[asyncio.Event] = []

    async def load(key: int) -> str:
        releases.append(asyncio.Event())
        version = len(releases)
        await releases[-1].wait()
        return f"version {version}"

    cache: SingleFlight[int, str] = SingleFlight(load)
    before = asyncio.ensure_future(cache.get(1))
    await settle()
    cache.forget(1)  # the row changed while it was being read
    after = asyncio.ensure_future(cache.get(1))  # a reader after the change: a load of its own
    await settle()
    assert len(releases) == 2
    releases[1].set()
    assert await after == "version 2"
    releases[0].set()  # the older load ends last: it answers its reader but is not kept
    assert await before == "version 1"
    assert await cache.get(1) == "version 2" and len(releases) == 2


async def test_a_failed_load_reaches_every_reader_and_is_not_kept() -> None:
    calls = 0

    async def load(key: int) -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        if calls == 1:
            raise sqlite3.OperationalError("disk I/O error")
        return "ok"

    cache: SingleFlight[int, str] = SingleFlight(load)
    results = await asyncio.gather(*(cache.get(1) for _ in range(10)), return_exceptions=True)
    assert all(isinstance(r, sqlite3.OperationalError) for r in results) and calls == 1
    assert await cache.get(1) == "ok"


# -- votes: one unit each, committed together ---------------------------------------------------


@pytest.fixture
async def testbot(tmp_path: Path):  # noqa: ANN201
    bot = await TestBot(tmp_path).start()
    yield bot
    await bot.stop()


async def test_a_burst_of_votes_is_one_load_and_a_few_commits(testbot: TestBot) -> None:
    await testbot.push('/poll create "Best standard?" MARC RDA BIBFRAME')
    polls = next(cog for cog in testbot.bot.cogs if isinstance(cog, Polls))
    polls.store._forget(1)  # a cold cache, as after a restart or a close
    loads, groups = polls.store._cache.loads, testbot.db.groups
    answers: dict[str, list[str]] = {}

    class Answer:
        def __init__(self, name: str) -> None:
            self.name = name

        async def respond(self, card) -> None:  # noqa: ANN001
            answers.setdefault(self.name, []).append(card.text)
            with closing(sqlite3.connect(testbot.db.path)) as conn:  # answered only once stored
                assert conn.execute("SELECT 1 FROM poll_votes WHERE voter = ?", (self.name,)).fetchall()

    members = [Member("console", f"m{n}", f"Member {n}") for n in range(300)]
    await asyncio.gather(*(
        testbot.bot.dispatch(ButtonPressed(m, testbot.console.place, custom_id=f"poll.vote:1:{n % 3}"), Answer(m.id))
        for n, m in enumerate(members)
    ))  # fmt: skip
    assert all(texts[0].startswith("Your vote: ") for texts in answers.values()) and len(answers) == 300
    assert polls.store._cache.loads == loads + 1  # not 300: the readers shared one load
    assert testbot.db.groups - groups <= 3  # 300 votes, a handful of commits
    assert len(stored(testbot.db, "SELECT voter FROM poll_votes WHERE poll_id = 1")) == 300


async def test_storing_a_poll_message_keeps_the_cached_poll(testbot: TestBot) -> None:
    """The burst of votes that follows a new poll's message finds the poll cached, as a
    load would read it."""
    await testbot.push('/poll create "Best standard?" MARC RDA BIBFRAME')
    polls = next(cog for cog in testbot.bot.cogs if isinstance(cog, Polls))
    await polls.store.get(1)
    loads = polls.store._cache.loads
    await polls.store.set_message(1, MessageRef("console", "general", "99"))
    kept = await polls.store.get(1)
    assert kept is not None and kept.message == MessageRef("console", "general", "99")
    assert polls.store._cache.loads == loads
    polls.store._forget(1)
    assert await polls.store.get(1) == kept and polls.store._cache.loads == loads + 1


# -- an interaction's engagement event rides in its unit of work -------------------------------


class Rows:
    """A rider (storage.unit_of_work.Rider) that records whether it was told of its commit."""

    def __init__(self, *rows: tuple[str, tuple[object, ...]]) -> None:
        self._rows = list(rows)
        self.told = 0

    def rows(self) -> list[tuple[str, tuple[object, ...]]]:
        return self._rows

    def counts(self) -> list[tuple[str, tuple[object, ...]]]:
        return [(COUNT, ("clicks",))]

    def committed(self) -> None:
        self.told += 1


COUNT = "INSERT INTO c (k, n) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET n = n + excluded.n"


async def test_a_rider_commits_with_its_unit_or_not_at_all(tmp_path: Path) -> None:
    db = await opened(tmp_path)
    await db.execute("CREATE TABLE c (k TEXT PRIMARY KEY, n INTEGER NOT NULL)")
    await fresh_log(db)
    more = [Rows() for _ in range(5)]
    kept, lost = Rows(("INSERT INTO t (n, label) VALUES (?, ?)", (100, "rider of 1"))), Rows(
        ("INSERT INTO t (n, label) VALUES (?, ?)", (200, "rider of 2"))
    )
    results = await asyncio.gather(db.unit(insert(1), kept), db.unit(insert(2, fail=ValueError("no")), lost),
                                   *(db.unit(insert(10 + n), rider) for n, rider in enumerate(more)),
                                   return_exceptions=True)  # fmt: skip
    assert results[0] == 1 and isinstance(results[1], ValueError)
    assert stored(db) == [1, 10, 11, 12, 13, 14, 100]  # the failed unit's rider rolled back with it
    assert stored(db, "SELECT n FROM c") == [6]  # the riders' counts, merged
    assert (kept.told, lost.told) == (1, 0)  # told only once committed
    assert commits_in_log(db) == 1
    await db.close()


async def test_a_vote_and_its_engagement_event_are_one_transaction(testbot: TestBot) -> None:
    """Acknowledged means durable, for the engagement log too: when a click is answered,
    its engagement event is committed with its ballot (a kill -9 then cannot keep the vote
    and lose the event), and it is not recorded a second time after the handler."""
    await testbot.push('/poll create "Best standard?" MARC RDA BIBFRAME', '/poll create "Secret?" Yes No anonymous=yes')
    await testbot.db.flush()
    seen: dict[str, tuple[int, int, int]] = {}

    class Answer:
        def __init__(self, name: str) -> None:
            self.name = name

        async def respond(self, card) -> None:  # noqa: ANN001
            with closing(sqlite3.connect(testbot.db.path)) as conn:  # what a kill -9 now would leave
                seen[self.name] = (
                    conn.execute("SELECT COUNT(*) FROM poll_votes WHERE voter = ?", (self.name,)).fetchone()[0],
                    conn.execute("SELECT COUNT(*) FROM engagement_events WHERE member_id = ? AND subject = 'poll.vote'",
                                 (self.name,)).fetchone()[0],  # fmt: skip
                    conn.execute("SELECT COALESCE(SUM(events), 0) FROM engagement_daily WHERE kind = 'button'"
                                 " AND cog = 'polls'").fetchone()[0],  # fmt: skip
                )

    members = [Member("console", f"m{n}", f"Member {n}") for n in range(40)]
    await asyncio.gather(*(
        testbot.bot.dispatch(ButtonPressed(m, testbot.console.place, custom_id=f"poll.vote:1:{n % 3}"), Answer(m.id))
        for n, m in enumerate(members)
    ))  # fmt: skip
    assert all(votes == 1 and events == 1 and daily >= 1 for votes, events, daily in seen.values())
    assert len(seen) == 40
    secret = Member("console", "s1", "Secret voter")
    await testbot.bot.dispatch(ButtonPressed(secret, testbot.console.place, custom_id="poll.vote:2:0"), Answer("s1"))
    assert seen["s1"][2] == 41  # the anonymous click is counted (in the day's total only) with its ballot
    await testbot.db.flush()
    assert stored(testbot.db, "SELECT COUNT(*) FROM engagement_events WHERE subject = 'poll.vote'") == [40]  # not twice
    assert stored(testbot.db, "SELECT SUM(events) FROM engagement_daily WHERE kind = 'button' AND cog = 'polls'") == [41]
    assert stored(testbot.db, "SELECT COUNT(*) FROM engagement_events WHERE member_id = 's1'") == [0]


async def test_a_rider_that_fails_fails_its_unit_alone(tmp_path: Path) -> None:
    db = await opened(tmp_path)
    await db.execute("CREATE TABLE c (k TEXT PRIMARY KEY, n INTEGER NOT NULL)")
    await db.execute("INSERT INTO t (n, label) VALUES (1000, 'taken')")
    bad, good = Rows(("INSERT INTO t (n, label) VALUES (?, ?)", (300, "taken"))), Rows()
    results = await asyncio.gather(db.unit(insert(1), good), db.unit(insert(2), bad), db.unit(insert(3)),
                                   return_exceptions=True)  # fmt: skip
    assert results[0] == 1 and isinstance(results[1], sqlite3.IntegrityError) and results[2] == 3
    assert stored(db) == [1, 3, 1000]  # unit 2 rolled back with its rider; the others committed
    assert stored(db, "SELECT n FROM c") == [1] and (good.told, bad.told) == (1, 0)
    await db.close()
