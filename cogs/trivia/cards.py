"""How trivia looks: question, reveal, standings, daily results, leaderboards."""

from __future__ import annotations

from bot.cards import Button, Card, Field
from bot.text import bar, truncate
from cogs.trivia.bank import Question
from cogs.trivia.matching import LETTERS
from storage.trivia import Asked, Score
from storage.trivia_flags import Disputed


def choice_label(asked: Asked, index: int) -> str:
    return f"{LETTERS[index]}. {asked.choices[index]}"


def question_card(
    question: Question, asked: Asked, heading: str, footer: str, action: str, args: tuple[int, ...]
) -> Card:
    """The question with A-D buttons whose ids carry everything needed to score a click."""
    buttons = tuple(
        Button(choice_label(asked, i), action, (*args, i)) for i in range(len(asked.choices))
    )
    return Card(
        title=heading,
        text=question.question,
        buttons=buttons,
        footer=f"{footer} ({question.id})",
    )


def closed_question_card(question: Question, asked: Asked, heading: str) -> Card:
    """The question message once time is up: the choices stay readable, the buttons go."""
    choices = "\n".join(choice_label(asked, i) for i in range(len(asked.choices)))
    return Card(title=heading, text=f"{question.question}\n{choices}", footer=f"Time's up. ({question.id})")


def reveal_card(question: Question, asked: Asked, answers: list[tuple[str, int, bool, int]]) -> Card:
    right = [f"{name} +{points}" for name, _, correct, points in answers if correct]
    wrong = sum(1 for _, _, correct, _ in answers if not correct)
    if not answers:
        summary = "Nobody answered."
    else:
        summary = f"Right: {', '.join(right) if right else 'nobody'}. Wrong: {wrong}."
    return Card(
        title=f"Answer: {choice_label(asked, asked.correct)}",
        text=f"{question.explanation}\n{summary}",
        footer=f"Source: {question.source}",
    )


def competition_ranks(points: list[int]) -> list[int]:
    """Ranks for scores listed best first; equal points share a rank: 1, 1, 3."""
    ranks: list[int] = []
    for index, value in enumerate(points):
        ranks.append(ranks[-1] if index and value == points[index - 1] else index + 1)
    return ranks


def standings_card(scores: list[Score], reason: str, winner: str | None) -> Card:
    """The final ranking (equal points share a rank); a win is recorded only with 3 or more
    players and a score above 0, and a win decided by a tie-break says which one."""
    if not scores:
        return Card(title="Round over", text=f"{reason} Nobody scored this time.")
    width = max(len(s.name) for s in scores)
    ranks = competition_ranks([s.points for s in scores])
    lines = [
        f"{rank}. {s.name.ljust(width)}  {s.points:>5}  ({s.correct} of {s.answered} right)"
        for rank, s in zip(ranks, scores, strict=True)
    ]
    return Card(title="Round over: standings", text=f"{reason}\n" + "\n".join(lines), footer=_win_note(scores, winner))


def _win_note(scores: list[Score], winner: str | None) -> str:
    if winner is None:
        level = [s.name for s in scores if s.tie_key == scores[0].tie_key]
        if len(scores) >= 3 and scores[0].points > 0 and len(level) > 1:
            return f"{' and '.join(level)} tied for first on points, right answers and time, so no win is counted."
        return "Wins count in rounds with 3 or more players and a score above 0."
    first, second = scores[0], scores[1]
    if second.points != first.points:
        return f"Winner: {winner}."
    if second.correct != first.correct:
        return (f"Winner: {winner}, on a tie-break: level with {second.name} on {first.points} points, "
                f"with more right answers ({first.correct} to {second.correct}).")  # fmt: skip
    return f"Winner: {winner}, on a tie-break: level with {second.name} on points and right answers, and got there first."


def daily_results_card(question: Question, asked: Asked, answers: list[tuple[str, int, bool, int]]) -> Card:
    """Yesterday's daily question: the answer and the share who chose each option."""
    total = len(answers)
    fields = []
    for index in range(len(asked.choices)):
        chosen = sum(1 for _, choice, _, _ in answers if choice == index)
        share = chosen / total if total else 0.0
        mark = "  <- answer" if index == asked.correct else ""
        fields.append(Field(choice_label(asked, index), f"{chosen:>3}  {bar(share, 10):<10} {round(share * 100):>3}%{mark}", inline=False))
    return Card(
        title=f"Yesterday's question: {question.question}",
        text=question.explanation,
        fields=tuple(fields),
        footer=f"{total} answered. Source: {question.source}",
    )


def leaderboard_card(title: str, scores: list[Score]) -> Card:
    """Top players; equal points share a rank (1, 1, 3)."""
    if not scores:
        return Card(title=title, text="No answers yet in this period. /trivia start to play.")
    width = max(len(s.name) for s in scores)
    ranks = competition_ranks([s.points for s in scores])
    lines = [f"{rank}. {s.name.ljust(width)}  {s.points:>6}  {s.correct}/{s.answered} right"
             for rank, s in zip(ranks, scores, strict=True)]  # fmt: skip
    return Card(title=title, text="\n".join(lines))


def flag_queue_card(disputed: list[Disputed], reasons: int = 3, budget: int = 5000) -> Card:
    """The questions members have disputed here: how many members flagged each and why,
    newest first; as many as fit a Discord embed (6,000 characters, 25 fields) and a Slack
    message, the rest counted in the footer."""
    fields: list[Field] = []
    for item in disputed[:20]:
        heading = f"{item.question_id} · {item.members} member{'s' if item.members != 1 else ''}"
        if item.set_aside:
            heading += " · set aside"
        lines = [f"{flag.member_name or 'a former member'}{' (moderator)' if flag.by_moderator else ''}: "
                 f"{truncate(flag.reason, 150)}" for flag in item.flags[:reasons]]  # fmt: skip
        if item.members > reasons:
            lines.append(f"and {item.members - reasons} more")
        field = Field(heading, "\n".join(lines), inline=False)
        budget -= len(field.name) + len(field.value)
        if budget < 0:
            break
        fields.append(field)
    footer = "/trivia restore ID puts a question back in play and clears its flags."
    if len(fields) < len(disputed):
        footer = f"{len(disputed) - len(fields)} more not shown. " + footer
    return Card(title="Flagged questions", fields=tuple(fields), footer=footer, ephemeral=True)
