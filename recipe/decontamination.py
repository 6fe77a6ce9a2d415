"""Keep evaluation questions out of training: exact and word n-gram matching against an index of eval items.

Texts are NFKC-normalised, case-folded and split into words (punctuation dropped); an item's text is its
question followed by its option texts in sorted order (a copy with shuffled options is the same text). A
training item is contaminated by an evaluation item when

* "exact": their texts are equal, or their QUESTIONS are equal and either the question is specific (at least
  :data:`SPECIFIC_WORDS` distinct words outside :data:`GENERIC_WORDS`, the boilerplate of exam stems) or most
  options match (more than half of the smaller option set). A copy with one option dropped or replaced is
  caught; "Which of the following is the most likely diagnosis?" with other options is another question.
* "ngram": the word n-grams of their texts that they share make up at least ``threshold`` of the smaller of
  the two n-gram sets (the overlap coefficient, so a copy wrapped in extra text is caught), and the same
  specific-question-or-matching-options rule holds (a generic stem shared by two short items is not a copy).
  ``n`` adapts to length: ``n`` (default 13, the GPT-3 / PaLM contamination studies' length) for every pair,
  and pairs of SHORT items (both under ``4 n`` words) are also compared with ``short_n`` = min(n, 6)-grams.
  A changed word removes up to ``n`` n-grams, so one change keeps an overlap of at least 0.5 only in texts of
  about ``3 n`` words or more: at n = 13 a typical 25-35-word MedMCQA item (question + options) lost most of
  its 13-grams to one pluralised word, at 6 it keeps at least half from 17 words on; below 6, distinct
  questions sharing a clinical phrase start to collide.

The evaluation n-grams go into dicts (n-gram hash -> eval item), so checking a training item costs one
lookup per n-gram: 200k training x 20k evaluation items take ~17 s on one core (13-grams alone: ~14 s), where
pairwise comparison would take hours. Hashes are of word-id tuples (integers hash the same in every process),
so results never vary between runs.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from alphamed.data_preprocess.schema import normalize_option_text

_WORD = re.compile(r"\w+")

SHORT_N = 6
SHORT_FACTOR = 4  # items under SHORT_FACTOR * n words are "short"
SPECIFIC_WORDS = 5
GENERIC_WORDS = frozenset(
    """
    about above after all also among and any are because been before being best both but can cannot cause
    caused choose condition correct could does each except explain explains false feature features finding
    findings following for from had has have her his how incorrect into its least likely main management may
    more most next none not one other patient patients person regarding select should seen statement
    statements step such than that the their them then there these this those true was were what when where
    which while who whose why will with would appropriate diagnosis symptom symptoms answer option options
    """.split()
)  # with words of 1-2 letters, what a generic exam stem ("which of the following ... is true?") is made of


class ItemWords(list[str]):
    """An item's normalised words (question, then sorted options), remembering where the question ends and the
    option texts: what every comparison uses (joined, also the key exact duplicates across sources are found by)."""

    def __init__(self, question: list[str], options: list[str]):
        super().__init__(question)
        self.question_words = len(question)
        self.options = frozenset(options)
        for option in sorted(options):
            self.extend(option.split())

    @property
    def question_key(self) -> str:
        return " ".join(self[: self.question_words])

    @property
    def specific(self) -> bool:
        """Whether the question alone identifies the item (not a generic stem that only its options make)."""
        content = {w for w in self[: self.question_words] if len(w) > 2 and w not in GENERIC_WORDS}
        return len(content) >= SPECIFIC_WORDS


def item_words(question: str, options: Sequence[str]) -> ItemWords:
    """The :class:`ItemWords` of a question and its options."""
    words = _WORD.findall(normalize_option_text(question))
    return ItemWords(words, [" ".join(_WORD.findall(normalize_option_text(option))) for option in options])


def options_match(a: frozenset[str], b: frozenset[str]) -> bool:
    """More than half of the smaller option set is shared (one option dropped or replaced still matches)."""
    return 2 * len(a & b) > min(len(a), len(b))


@dataclass(frozen=True)
class Match:
    eval_name: str
    kind: str  # "exact" | "ngram"
    overlap: float


@dataclass
class _Level:
    """The n-gram hashes of the eval items indexed at one n-gram length."""

    n: int
    max_words: int | None  # only items with fewer words take part (None = every item)
    grams: dict[int, int | list[int]] = field(default_factory=dict)  # one eval item per hash, a list if shared
    sizes: dict[int, int] = field(default_factory=dict)  # eval position -> its n-gram count

    def takes(self, words: list[str]) -> bool:
        return self.max_words is None or len(words) < self.max_words


class EvalIndex:
    """Every evaluation item's exact keys and n-gram hashes; ``match`` tells whether a training item leaks."""

    def __init__(self, n: int, threshold: float):
        self.n = n
        self.threshold = threshold
        self._vocab: dict[str, int] = {}
        self._exact: dict[str, int] = {}
        self._questions: dict[str, list[int]] = {}
        self._levels = [_Level(n, None)]
        if min(n, SHORT_N) < n:
            self._levels.append(_Level(SHORT_N, SHORT_FACTOR * n))
        self._options: list[frozenset[str]] = []
        self._names: list[str] = []

    def __len__(self) -> int:
        return len(self._names)

    def _ids(self, words: list[str], grow: bool) -> list[int]:
        """Word ids; a word no eval item has gets id -1 (it can match nothing)."""
        vocab = self._vocab
        return [vocab.setdefault(word, len(vocab)) for word in words] if grow else [vocab.get(w, -1) for w in words]

    @staticmethod
    def _gram_hashes(ids: list[int], n: int) -> set[int]:
        return {hash(tuple(ids[i : i + n])) for i in range(len(ids) - n + 1)}

    def add(self, eval_name: str, items: Iterable[tuple[str, Sequence[str]]]) -> None:
        """Index ``(question, options)`` pairs of the evaluation set ``eval_name``."""
        for question, options in items:
            position = len(self._names)
            words = item_words(question, options)
            self._names.append(eval_name)
            self._options.append(words.options)
            self._exact.setdefault(" ".join(words), position)
            self._questions.setdefault(words.question_key, []).append(position)
            ids = self._ids(words, grow=True)
            for level in self._levels:
                if not level.takes(words):
                    continue
                grams = self._gram_hashes(ids, level.n)
                level.sizes[position] = len(grams)
                for gram in grams:
                    holder = level.grams.get(gram)
                    if holder is None:
                        level.grams[gram] = position
                    elif isinstance(holder, int):
                        if holder != position:
                            level.grams[gram] = [holder, position]
                    else:
                        holder.append(position)

    def _same_item(self, words: ItemWords, position: int) -> bool:
        return words.specific or options_match(words.options, self._options[position])

    def match(self, words: ItemWords) -> Match | None:
        """The evaluation item a training item (its :func:`item_words`) duplicates or overlaps most, if any."""
        exact = self._exact.get(" ".join(words))
        if exact is None:
            same = (p for p in self._questions.get(words.question_key, ()) if self._same_item(words, p))
            exact = next(same, None)
        if exact is not None:
            return Match(self._names[exact], "exact", 1.0)
        ids = self._ids(words, grow=False)
        best: Match | None = None
        for level in self._levels:
            if not level.takes(words):
                continue
            grams = self._gram_hashes(ids, level.n)
            shared: Counter[int] = Counter()
            for gram in grams:
                holder = level.grams.get(gram)
                if holder is None:
                    continue
                if isinstance(holder, int):
                    shared[holder] += 1
                else:
                    shared.update(holder)
            for position, count in sorted(shared.items()):
                overlap = count / min(len(grams), level.sizes[position])
                if overlap >= self.threshold and (best is None or overlap > best.overlap):
                    if self._same_item(words, position):
                        best = Match(self._names[position], "ngram", overlap)
        return best
