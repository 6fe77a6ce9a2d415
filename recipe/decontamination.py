"""Keep evaluation questions out of training: exact and word n-gram matching against an index of eval items.

An item's text is its question followed by its option texts in sorted order (so a copy with shuffled options
is still the same item; a generic stem like "Which of the following is true?" with different options is not),
NFKC-normalised, case-folded and split into words (punctuation dropped). A training item is contaminated when

* its text equals an evaluation item's text ("exact"), or
* the word ``n``-grams it shares with ONE evaluation item make up at least ``threshold`` of the smaller of the
  two n-gram sets (the overlap coefficient; "ngram"). The default, 13-grams at 0.5, is the n-gram length of
  the GPT-3 / PaLM contamination studies; using the smaller set catches a training item that wraps an eval
  question in extra text, and vice versa. Items shorter than ``n`` words can only match exactly.

The evaluation n-grams go into one dict (n-gram hash -> eval item), so checking a training item costs one
lookup per n-gram: 200k training x 20k evaluation items take ~15 s on one core, where pairwise comparison
would take hours.
Hashes are of word-id tuples (integers hash the same in every process), so results never vary between runs.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from alphamed.data_preprocess.schema import normalize_option_text

_WORD = re.compile(r"\w+")


def item_words(question: str, options: Sequence[str]) -> list[str]:
    """The normalised words of a question and its (sorted) options: the text every comparison uses (joined,
    also the key exact duplicates across training sources are found by)."""
    parts = [normalize_option_text(question), *sorted(normalize_option_text(option) for option in options)]
    return _WORD.findall(" ".join(parts))


@dataclass(frozen=True)
class Match:
    eval_name: str
    kind: str  # "exact" | "ngram"
    overlap: float


class EvalIndex:
    """Every evaluation item's exact key and n-gram hashes; ``match`` tells whether a training item leaks."""

    def __init__(self, n: int, threshold: float):
        self.n = n
        self.threshold = threshold
        self._vocab: dict[str, int] = {}
        self._exact: dict[str, int] = {}
        self._grams: dict[int, int | list[int]] = {}  # one eval item per n-gram, a list on the rare collision
        self._sizes: list[int] = []
        self._names: list[str] = []

    def __len__(self) -> int:
        return len(self._names)

    def _gram_hashes(self, words: list[str], grow: bool) -> set[int]:
        """Hashes of the word-id n-grams; a word no eval item has gets id -1 (it can match nothing)."""
        vocab = self._vocab
        ids = [vocab.setdefault(word, len(vocab)) for word in words] if grow else [vocab.get(w, -1) for w in words]
        n = self.n
        return {hash(tuple(ids[i : i + n])) for i in range(len(ids) - n + 1)}

    def add(self, eval_name: str, items: Iterable[tuple[str, Sequence[str]]]) -> None:
        """Index ``(question, options)`` pairs of the evaluation set ``eval_name``."""
        for question, options in items:
            position = len(self._names)
            words = item_words(question, options)
            self._names.append(eval_name)
            self._exact.setdefault(" ".join(words), position)
            grams = self._gram_hashes(words, grow=True)
            self._sizes.append(len(grams))
            for gram in grams:
                holder = self._grams.get(gram)
                if holder is None:
                    self._grams[gram] = position
                elif isinstance(holder, int):
                    if holder != position:
                        self._grams[gram] = [holder, position]
                else:
                    holder.append(position)

    def match(self, words: list[str]) -> Match | None:
        """The evaluation item a training item (its :func:`item_words`) duplicates or overlaps most, if any."""
        exact = self._exact.get(" ".join(words))
        if exact is not None:
            return Match(self._names[exact], "exact", 1.0)
        grams = self._gram_hashes(words, grow=False)
        if not grams:
            return None
        shared: Counter[int] = Counter()
        for gram in grams:
            holder = self._grams.get(gram)
            if holder is None:
                continue
            if isinstance(holder, int):
                shared[holder] += 1
            else:
                shared.update(holder)
        best: Match | None = None
        for position, count in sorted(shared.items()):
            overlap = count / min(len(grams), self._sizes[position])
            if overlap >= self.threshold and (best is None or overlap > best.overlap):
                best = Match(self._names[position], "ngram", overlap)
        return best
