"""The anonymous-poll key: where it comes from (BOT_POLL_SECRET, a key file, or one made
beside the database), the check that it is the key stored ballots were made with, and the
keyed hash that stands for a voter in an anonymous poll."""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from bot.config import ConfigError, Settings
from bot.model import Member
from storage.ballots import has_anonymous_ballots, key_fingerprint, stored_key_fingerprint


def voter_hash(secret: bytes, poll_id: int, member: Member) -> str:
    """The member in poll `poll_id` as a keyed hash nobody can reverse without the key."""
    message = f"{poll_id}:{member.platform}:{member.id}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def poll_secret(configured: str | None, db_path: Path, key_file: Path | None = None) -> bytes:
    """BOT_POLL_SECRET; else the random key in BOT_POLL_KEY_FILE; else one in
    `<database>.poll-key` beside the database, with a warning at start-up: a copy of the data
    folder then holds both the ballots and the key that links them to members.

    A new key is made only for a database without anonymous ballots: raises ConfigError
    when the key file is missing but ballots made with a key are stored (a new key would
    let members vote twice and make forget-me miss their votes)."""
    if configured:
        if len(configured) < 16:
            raise ConfigError(["config: BOT_POLL_SECRET: use at least 16 characters"])
        return configured.encode()
    key_file = key_file or default_key_file(db_path)
    if not key_file.exists():
        if has_anonymous_ballots(db_path):
            raise ConfigError([f"config: the anonymous-poll key {key_file} is missing, but {db_path} holds anonymous "
                               "ballots made with it; restore the file, or point BOT_POLL_KEY_FILE or BOT_POLL_SECRET "
                               "at the key they were made with"])  # fmt: skip
        key_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(os.urandom(32).hex())
    try:
        key = bytes.fromhex(key_file.read_text().strip())
    except (ValueError, OSError, UnicodeDecodeError):
        key = b""
    if len(key) < 16:  # an empty or short key would let anyone link ballots to members
        raise ConfigError([f"config: the anonymous-poll key in {key_file} is not a key (at least 32 hex digits); "
                           "remove the file to have a new one made, or set BOT_POLL_SECRET"])  # fmt: skip
    return key


def default_key_file(db_path: Path) -> Path:
    return db_path.with_suffix(".poll-key")


def load_key(settings: Settings) -> tuple[bytes, str | None]:
    """The anonymous-poll key for these settings and, when it is kept beside the database, the
    warning to log at start-up. Raises ConfigError when it is not the key the stored
    anonymous ballots were made with."""
    secret = settings.bot_poll_secret
    key_file = settings.bot_poll_key_file
    key = poll_secret(secret.get_secret_value() if secret else None, settings.bot_database, key_file)
    stored = stored_key_fingerprint(settings.bot_database)
    if stored is not None and stored != key_fingerprint(key) and has_anonymous_ballots(settings.bot_database):
        raise ConfigError([f"config: this anonymous-poll key is not the one the anonymous ballots in "
                           f"{settings.bot_database} were made with; restore the previous BOT_POLL_SECRET or "
                           "key file (a new key would let members vote twice and forget-me miss their votes)"])  # fmt: skip
    if secret is None and key_file is None:
        return key, (f"the anonymous-poll key is kept beside the database ({default_key_file(settings.bot_database)});"
                     " set BOT_POLL_SECRET or BOT_POLL_KEY_FILE to keep it out of the data folder")  # fmt: skip
    return key, None
