"""The one text grammar every platform shares: from a line of text to a command and its
validated arguments.

Shell-like tokens; positionals in the order the model lists them (a list field takes the
rest), `name=value` for any field, quotes for spaces. On Discord, where options arrive
typed, a list field is one string split on `;`. An option name is compared as its
skeleton (NFKC, no invisible characters, lower case, Latin for Cyrillic and Greek
look-alikes); a misspelt or mis-written option is refused with the right spelling.
"""

from __future__ import annotations

import re
import shlex
import unicodedata
from typing import Any

from pydantic import ValidationError
from rapidfuzz import process

from bot.commands import Args, Command, CommandSpec, Registry, is_list
from bot.errors import UsageError
from bot.text import ECHO_LIMIT, INVISIBLE, clip_echoes, echo, quoted

# -- the text grammar -------------------------------------------------------------------

SMART_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})
NEEDS_SHLEX = re.compile("[\"'\\\\\u201c\u201d\u2018\u2019]")
OPTION = re.compile(r"^([a-z_][a-z0-9_-]*)=(.*)$", re.DOTALL)


LITERAL_EQUALS = "\x00"  # `a\=b` is the text "a=b", never an option
SEPARATOR_LOOKALIKES = str.maketrans({"⩵": "=", "≔": "=", "᐀": "=", "∶": ":", "꞉": ":",
                                      "—": "-", "–": "-", "―": "-", "‒": "-", "−": "-"})  # fmt: skip
LOOKALIKES = str.maketrans(  # Cyrillic and Greek lower-case letters that render like Latin ones (Unicode confusables)
    "аеорсухіјѕԁһոտνοαικτυ", "aeopcyxijsdhnuvoaiktu"
)


def tokenize(text: str) -> list[str]:
    r"""Shell-like tokens. `\=` keeps an equals sign as text (`E\=mc2`); it is restored by
    `build_args` after options are told apart from text."""
    text = text.replace(LITERAL_EQUALS, "").replace("\\=", LITERAL_EQUALS)
    if not NEEDS_SHLEX.search(text):
        return text.split()  # what shlex would give, ten times faster
    try:
        return shlex.split(text.translate(SMART_QUOTES))
    except ValueError:
        raise UsageError('A quote is not closed; put text with spaces in "double quotes".') from None


def resolve_text(registry: Registry, text: str) -> tuple[Command, list[str]]:
    """Find the command `poll create "Q?" A B` names; returns it and its argument tokens."""
    exact = registry.commands.get(text)  # `trivia stop`, `help`: the name alone, no grammar to run
    if exact is not None:
        return exact, []
    tokens = tokenize(text.strip().removeprefix("/"))
    if not tokens:
        raise UsageError("Type a command, e.g. /help.")
    found, used = registry.find([INVISIBLE.sub("", t).lower() for t in tokens[:2]])  # pasted from Slack: no U+200B
    if found is None and len(tokens) == 1 and tokens[0].lower() in registry.groups() and "help" in registry.commands:
        return registry.commands["help"], tokens  # a group's name alone shows that group's help
    if found is None:
        typed = " ".join(tokens[:2]) if tokens[0].lower() in registry.groups() else tokens[0]
        raise UnknownCommand(typed, registry.suggest(typed.lower()))
    return found, tokens[used:]


def resolve_name(registry: Registry, name: str) -> Command:
    """The command a platform with typed options (Discord) names directly."""
    found = registry.commands.get(name)
    if found is None:
        raise UnknownCommand(name, registry.suggest(name))
    return found


def build_args(spec: CommandSpec, tokens: list[str], context: dict[str, Any]) -> Args:
    model = spec.args
    if not tokens and spec.no_args is not None:
        return spec.no_args  # nothing to parse or validate
    data: dict[str, Any] = {}
    positionals: list[str] = []
    for index, token in enumerate(tokens):
        match = OPTION.match(_plain_name(token))  # `Anonymous=`, `аnonymous=` (Cyrillic а), `anonymous＝`: the option
        if match is None:
            _refuse_near_option(spec, token, tokens[index + 1] if index + 1 < len(tokens) else None)
            positionals.append(token.replace(LITERAL_EQUALS, "="))
            continue
        name = match.group(1).replace("-", "_")
        if name not in model.model_fields:  # a misspelt option must not silently become data
            raise UsageError(_unknown_option(spec, match.group(1), token))
        if name in data:
            raise UsageError(f"{spec.name}: {name}= is given twice; give it once. Usage: {spec.usage}")
        data[name] = match.group(2).replace(LITERAL_EQUALS, "=")
    for name in model.positional:
        if not positionals:
            break
        if name in data:
            continue
        if is_list(model.model_fields[name].annotation):
            data[name], positionals = positionals, []
        else:
            data[name] = positionals.pop(0)
    if positionals:
        extra = echo(" ".join(shlex.quote(p) for p in positionals))
        raise UsageError(f"{spec.name}: unexpected {extra}; put text with spaces in quotes. Usage: {spec.usage}")
    return validate_args(spec, data, context)


def _plain_name(token: str) -> str:
    """The token with its `name=` part as the grammar reads names (`name_skeleton`); the
    separator is the first character that NFKC reads as `=` (`＝` too), and the value is
    left as typed."""
    for at, char in enumerate(token):
        if char == "=" or (ord(char) > 127 and _separator(char) == "="):
            return name_skeleton(token[:at]) + "=" + token[at + 1:]
    return token


def _separator(char: str) -> str:
    """What a character reads as where it may separate a name from its value: `=` for
    `＝`, `﹦`, `⩵`, `≔`, `᐀`; `:` for `：`, `﹕`, `∶`, `꞉`; `-` for dashes (`—`, `–`, `−`);
    else the character itself."""
    plain = unicodedata.normalize("NFKC", char).translate(SEPARATOR_LOOKALIKES)
    return plain[0] if plain and plain.strip(plain[0]) == "" else char


def _separators(text: str) -> str:
    return "".join(_separator(char) if ord(char) > 127 else char for char in text)


def _refuse_near_option(spec: CommandSpec, token: str, following: str | None) -> None:
    """A positional that is plainly an option written another way (`anonymous:yes`,
    `--anonymous`, `anonymous =yes`) is refused rather than read as data."""
    fields = spec.args.model_fields
    token, following = _separators(token), None if following is None else _separators(following)
    name, colon, value = token.partition(":")
    dashed = token.startswith("-") and name_skeleton(token.lstrip("-")).replace("-", "_") in fields  # `—x`: a phone's `--x`
    if dashed:
        option = name_skeleton(token.lstrip("-")).replace("-", "_")
        raise UsageError(f"{spec.name}: options are written name=value, e.g. {option}=yes, not {echo(token)}. "
                         f"Usage: {spec.usage}")  # fmt: skip
    if colon and " " not in name and not value[:1].isspace() and name_skeleton(name).replace("-", "_") in fields:
        option = name_skeleton(name).replace("-", "_")
        half = ECHO_LIMIT // 2  # the value and the token: together no more than one echo
        raise UsageError(f"{spec.name}: to give {option}, write {option}={echo(value, half)}; to use "
                         f"{quoted(token, half)} as text, put a space after the colon. Usage: {spec.usage}")  # fmt: skip
    if following is not None and following.startswith("=") and name_skeleton(token).replace("-", "_") in fields:
        option = name_skeleton(token).replace("-", "_")
        raise UsageError(f"{spec.name}: write {option}={echo(following[1:]) or 'VALUE'} without spaces around =. "
                         f"Usage: {spec.usage}")  # fmt: skip


def name_skeleton(name: str) -> str:
    """An option name as the grammar compares names: NFKC, invisible characters removed,
    lower case, and Cyrillic and Greek letters that look like Latin ones read as Latin
    (`аnonymous` with a Cyrillic а is `anonymous`)."""
    plain = INVISIBLE.sub("", unicodedata.normalize("NFKC", name)).strip().lower()
    return plain.translate(LOOKALIKES)


def _unknown_option(spec: CommandSpec, typed: str, token: str) -> str:
    match = process.extractOne(typed.lower()[:100], list(spec.args.model_fields), score_cutoff=70)
    hint = f" Did you mean {match[0]}=?" if match else ""
    literal = token.replace("=", "\\=", 1)
    as_text = (f"To use {token!r} as text, write {literal}." if len(literal) <= ECHO_LIMIT // 3 else
               "To use it as text, write \\= for its =.")  # fmt: skip
    return f"{spec.name}: there is no option {echo(typed)}=.{hint} {as_text} Usage: {spec.usage}"


def validate_args(spec: CommandSpec, data: dict[str, Any], context: dict[str, Any]) -> Args:
    try:
        return spec.args.model_validate(data, context=context)
    except ValidationError as exc:
        own_sentence = exc.errors()[0]["type"] == "value_error"
        usage = "" if own_sentence else f". Usage: {spec.usage}"
        raise UsageError(f"{spec.name}: {clip_echoes(describe(exc), data)}{usage}") from None


def describe(exc: ValidationError) -> str:
    """The first problem as a short phrase that names the argument."""
    return describe_error(exc.errors(include_url=False)[0])


def describe_error(error: Any, label: str | None = None) -> str:
    """One pydantic error (an item of `ValidationError.errors()`) as a short phrase naming the
    argument, or `label` (a form field's label) when given. It repeats at most 80 characters
    of the input (`bot.text.echo`), whatever the error's message holds."""
    return clip_echoes(_describe_error(error, label), error.get("input"))


def _describe_error(error: Any, label: str | None) -> str:
    name = ".".join(str(part) for part in error["loc"] if not isinstance(part, int)) or "input"
    kind, message = error["type"], error["msg"]
    if kind == "value_error":  # our own validators write whole sentences with examples
        return message.removeprefix("Value error, ")
    if kind == "missing":
        return f"{label or name.upper()} is missing"
    if kind == "extra_forbidden":
        return f"there is no option {name}="
    if kind == "int_parsing":
        return f"{name} must be a whole number (got {quoted(error.get('input'))})"
    return re.sub(r"^(Input|Value|String|List)( should| must)", rf"{name}\2", message)


class UnknownCommand(UsageError):
    def __init__(self, typed: str, suggestion: str | None) -> None:
        hint = f" Did you mean /{suggestion}?" if suggestion else ""
        super().__init__(f"Unknown command /{echo(typed)}.{hint} Try /help.")
