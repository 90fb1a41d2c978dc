"""How trivia looks: question, reveal, standings, daily results, leaderboards."""

from __future__ import annotations

from bot.cards import Button, Card, Field
from bot.text import bar
from cogs.trivia.bank import Question
from cogs.trivia.matching import LETTERS
from storage.trivia import Asked, Score


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


def standings_card(scores: list[Score], reason: str, winner: str | None) -> Card:
    """The final ranking; a win is recorded only with 3 or more players and a score above 0."""
    if not scores:
        return Card(title="Round over", text=f"{reason} Nobody scored this time.")
    width = max(len(s.name) for s in scores)
    lines = [
        f"{rank}. {s.name.ljust(width)}  {s.points:>5}  ({s.correct} of {s.answered} right)"
        for rank, s in enumerate(scores, 1)
    ]
    note = (
        f"Winner: {winner}." if winner
        else "Wins count in rounds with 3 or more players and a score above 0."
    )  # fmt: skip
    return Card(title="Round over: standings", text=f"{reason}\n" + "\n".join(lines), footer=note)


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
    if not scores:
        return Card(title=title, text="No answers yet in this period. /trivia start to play.")
    width = max(len(s.name) for s in scores)
    lines = [f"{rank}. {s.name.ljust(width)}  {s.points:>6}  {s.correct}/{s.answered} right"
             for rank, s in enumerate(scores, 1)]  # fmt: skip
    return Card(title=title, text="\n".join(lines))
