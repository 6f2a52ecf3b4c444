"""The dialog manager's follow-up handling, applied to a dataset's conversations.

In the product a follow-up ("and for children?") is searched as the standalone query the
dialog manager rewrites it into, from the state the conversation built up (slots, the previous
turn's query). Scoring multi-turn sets with the raw follow-up would measure a retrieval the
product never does, so the runner replays each conversation through the same functions
(``update_slots`` then ``rewrite_query``), with each earlier turn's gold answer standing in for
what the assistant said. A small-talk turn ("Thank you!") keeps the previous query as the
product does, so the turn after it is rewritten the same way; the small-talk turn itself is
searched as typed (the product answers it without a search). Left out: slot filters
(``use = "filter"``; they select documents by tag and evaluation corpora carry none) and the
model fallback for slot values.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.dialog.rewrite import rewrite_query
from app.dialog.slots import update_slots
from app.dialog.smalltalk import record_small_talk, small_talk
from app.dialog.state import DialogState, Turn
from domains.pack import Pack
from evals.datasets import Turn as EvalTurn


def standalone_query(turns: Sequence[EvalTurn], pack: Pack) -> str:
    """The retrieval query the dialog manager would search for the last of ``turns``."""
    state = DialogState(pack.name)
    query = ""
    for turn in turns:
        question = " ".join(turn.question.split())
        answer = turn.answers[0] if turn.answers else ""
        if small_talk(question, awaiting=bool(state.awaiting)) is not None:
            query = question
            record_small_talk(state, question, answer)
            continue
        change = update_slots(state, question, pack.slots)
        query = rewrite_query(question, state, pack, update=change).query
        state.add_turn(Turn(state.next_index, question, query, "answer", answer))
    return query
