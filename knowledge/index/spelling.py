"""A misspelt query word also read as the common indexed word one keystroke away.

BM25 matches words exactly, so a typo in a question ("Mortage scams") matches only the few
chunks with the same typo, and a word that rare has the highest IDF in the query: score fusion
then reads the chunks about mortgages as matching less than half the question, and a good
dense hit loses its lead. Search engines answer this with spelling suggestions from the index
itself; the rules here are Lucene's DirectSpellChecker defaults in its "more popular" mode: a
word held by under 1 % of chunks (maxQueryFrequency), of five letters or more (minQueryLength
4 there; four-letter words have dozens of real neighbours), is joined by its neighbours at one
edit (a letter dropped, added, changed, or two swapped) that keep its first letter
(minPrefix 1) and that many more chunks hold — at least five times as many, so two rare
spellings of different words are not merged. The typed word stays in the query: the variants
count as one term (their postings merged), as a fuzzy query scores them.

Only ranking uses this. Whether a question's word occurs in the documents (the answerer's
evidence check) is still decided on the word as typed, so a misspelt name is never silently
answered as another one.
"""

from __future__ import annotations

from collections.abc import Callable

MIN_LENGTH = 5
MAX_SHARE = 0.01  # a word this many chunks hold is a word of this corpus, not a typo
POPULARITY = 5  # how many times more chunks a variant must be found in than the typed word
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def one_edit(word: str) -> set[str]:
    """Every string one deletion, transposition, substitution or insertion away from ``word``
    that keeps its first letter."""
    splits = [(word[:i], word[i:]) for i in range(1, len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    swaps = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    changes = {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
    inserts = {a + c + b for a, b in splits for c in _LETTERS}
    return (deletes | swaps | changes | inserts) - {word}


def variants(token: str, frequency: Callable[[str], int], chunks: int) -> tuple[str, ...]:
    """``token`` and the indexed words it was probably meant as, sorted (so the same question
    always searches the same way). ``frequency(word)`` is how many of the ``chunks`` live
    chunks hold ``word``. Numbers, codes and Chinese are kept as typed."""
    if len(token) < MIN_LENGTH or not (token.isascii() and token.isalpha()):
        return (token,)
    typed = frequency(token)
    if typed >= MAX_SHARE * chunks:
        return (token,)
    floor = max(POPULARITY * typed, 1)
    found = [word for word in one_edit(token) if frequency(word) >= floor]
    return (token, *sorted(found))
