"""Answer extraction shared by the training reward and evaluation: one letter within the item's options, or None.

Why so strict: a reward that pays for a hedge ("A or C"), for a list of every option, or for a letter inside a
``<think>`` block is a reward the policy learns to hack; an evaluation that guesses on unreadable output inflates
scores. So every reading below either commits to exactly one in-range option or returns None.

Why hand-written scanning with caps: the reward runs on every rollout, on arbitrary model text (100 kB of junk,
unbalanced braces, nested boxes). Each step is a bounded C-level string operation (``find``/``rfind``/``count``)
or a regex without nested quantifiers, so the cost is linear in the text and bounded per box.

Modes:
- ``strict`` (prompt style ``alphamed``): the last ``\\boxed{...}`` after any ``<think>…</think>``.
- ``tagged`` (prompt style ``med_rlvr``): the last ``<answer>…</answer>`` after any ``<think>…</think>``.
- ``lenient`` (evaluating any model): explicit answer cues, then weaker readings, preferring the final commitment.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import islice

from alphamed.data_preprocess.schema import LETTERS, normalize_option_text

MODES = ("strict", "lenient", "tagged")

#: A response with more boxes than this outside ``<think>`` is spraying answers, not committing to one.
MAX_BOXES = 16
#: Box/answer contents longer than this are not an answer (bounds the brace scan per box).
MAX_CONTENT_CHARS = 1000
#: Lenient reads at most this many characters after an answer cue.
CUE_WINDOW = 300
#: Lenient looks at the head (answer-first responses) and the tail (final commitments) of long texts only.
LENIENT_HEAD, LENIENT_TAIL = 2000, 8000
#: Lenient reads at most this many cues (from the end) and weak readings; more weak ones are a spray.
MAX_READINGS = 16
#: Lenient first looks for the final commitment in this many last characters.
TAIL_FIRST = 600

_AMBIGUOUS = "ambiguous"  # sentinel: the content commits, but not to exactly one option
_NOT_A_CUE = "not a cue"  # sentinel: an anchor that turned out not to be an answer

_LATEX_WRAPPER = re.compile(r"\\(?:boxed|fbox|text|textbf|textit|textrm|mathrm|mathbf|mathit|operatorname)\s*\{")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_LATEX_NOISE = re.compile(r"\\[\[\]()]|\\[,;! ]|\\quad|[{}$*`\"“”']")
_CUE_PREFIX = re.compile(r"^(?:(?:the\s+)?(?:correct\s+|best\s+|final\s+)?(?:option|choice|answer)\s*[:：]?\s*)", re.I)
# A single letter, optionally in parentheses, optionally followed by a separator and text (its option's text).
_LETTER_HEAD = re.compile(r"^(?:\(([A-Za-z])\)|\[([A-Za-z])\]|([A-Za-z])(?![A-Za-z]))\s*([.:)\-–]?)\s*(.*)$", re.S)
# Each gap between letters can match in exactly one way (comma, "and"/"or", or plain spaces): a gap that could
# split its spaces several ways makes an unclosed "(A or B or A or B ..." backtrack exponentially.
_LETTER_GAP = r"(?:\s*,\s*(?:(?:and|or)\s+)?|\s+(?:and|or)\s+|\s+)"
_LETTER_LIST = re.compile(rf"\(\s*[A-Z](?:{_LETTER_GAP}(?:possibly\s+)?[A-Z])+\s*\)")
#: "C, not B" / "C rather than B": the rest rules another option out, it does not add one.
_NEGATED_REST = re.compile(r"^[,;]?\s*(?:not|rather than|instead of)\b", re.I)
#: A part of the rest that starts like another lettered option: "C) Warfarin", "(C). ...".
_LIST_SEPARATOR = re.compile(r"[,;/&]|\band\b|\bor\b")
_LETTERED_PART = re.compile(r"^\(?([A-Z])\s*[.):]")
#: Words that, after a leading "A. ...", show the line goes on to commit elsewhere ("... the answer is C").
_LATER_CUE = re.compile(r"\b(?:answer|correct)\b", re.I)  # not "choice": "drug of choice"
_CONNECTED_LETTER = re.compile(r"^(?:,|/|&|\+|;|\band\b|\bor\b|\bthen\b)\s*\(?[A-Za-z]\)?(?![A-Za-z])", re.I)
_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"


def extract_answer(text: str, options: Sequence[str] | None, mode: str = "strict") -> str | None:
    """The single option letter ``text`` commits to under ``mode``, or None (never a guess; never raises)."""
    try:
        if not isinstance(text, str):
            return None
        if mode == "strict" and "\\boxed" not in text or mode == "tagged" and "<answer>" not in text:
            return None  # cheap pre-check: most non-answers are rejected without any parsing
        option_texts = _option_texts(options)
        if mode == "strict":
            return _extract_strict(text, option_texts)
        if mode == "tagged":
            return _extract_tagged(text, option_texts)
        if mode == "lenient":
            return _extract_lenient(text, option_texts)
        return None
    except Exception:  # the reward must never take a training step down, whatever the text
        return None


def _option_texts(options: Sequence[str] | None) -> tuple[str, ...] | None:
    """Options as strings (from a list, tuple or numpy array); None means "letters A–Z, no option texts"."""
    if options is None:
        return None
    return tuple(str(option) for option in options)[: len(LETTERS)]


@lru_cache(maxsize=65536)
def _option_key(text: str) -> str:
    """Cached compare-key: the same options are scored k times per question in a rollout batch."""
    return normalize_option_text(text)


def after_think(text: str) -> str | None:
    """Text after the last ``</think>``; None when a ``<think>`` is left open (an unfinished thought answers nothing).

    A response whose chat template pre-fills ``<think>`` has only the closing tag; that is handled the same way.
    """
    close = text.rfind(_THINK_CLOSE)
    if text.find(_THINK_OPEN, close + 1 if close >= 0 else 0) >= 0:
        return None
    return text if close < 0 else text[close + len(_THINK_CLOSE) :]


def boxed_contents(text: str) -> list[str] | None:
    """Contents of every ``\\boxed{...}`` in order (unclosed or over-long boxes are skipped); None when too many."""
    if text.count("\\boxed") > MAX_BOXES:
        return None
    contents = []
    start = text.find("\\boxed")
    while start >= 0:
        brace = start + len("\\boxed")
        while brace < len(text) and text[brace] == " ":
            brace += 1
        if brace < len(text) and text[brace] == "{":
            end = _matching_brace(text, brace + 1, min(len(text), brace + 1 + MAX_CONTENT_CHARS))
            if end >= 0:
                contents.append(text[brace + 1 : end])
        start = text.find("\\boxed", brace)
    return contents


def _matching_brace(text: str, pos: int, limit: int) -> int:
    """Index of the ``}`` closing a ``{`` opened just before ``pos``, searching below ``limit``; -1 if none."""
    depth = 1
    while True:
        close = text.find("}", pos, limit)
        if close < 0:
            return -1
        depth += text.count("{", pos, close) - 1
        if depth == 0:
            return close
        pos = close + 1


def read_choice(content: str, option_texts: tuple[str, ...] | None, *, whole_line: bool = False) -> str | None:
    """Normalise an answer's content and read the one option it names: a letter, ``_AMBIGUOUS`` or None.

    ``whole_line``: ``content`` is a whole (short) response rather than what a box, tag or cue delimits, so a
    leading ``A. ...`` that goes on to talk about answers is not a commitment by itself.
    """
    if len(content) > MAX_CONTENT_CHARS:
        return None
    letters = LETTERS if option_texts is None else LETTERS[: len(option_texts)]
    bare = content.strip() if len(content) <= 3 else ""
    if len(bare) == 1 and bare.isascii() and bare.isalpha() and bare.upper() in letters:
        return bare.upper()  # fast path, the usual ``\boxed{C}``: a bare letter is a letter, as the prompt asks
    cleaned = _LATEX_NOISE.sub(" ", _LATEX_WRAPPER.sub(" ", unicodedata.normalize("NFKC", content)))
    cleaned = _CONTROL.sub(" ", cleaned)
    cleaned = " ".join(cleaned.split()).strip(" .。!")
    cleaned = _CUE_PREFIX.sub("", cleaned).strip(" .。!")
    if not cleaned:
        return None
    by_text = _letter_of_option_text(cleaned, option_texts)
    head = _LETTER_HEAD.match(cleaned)
    if head is None:
        # "not a single option, but some of (D, I, and possibly E)": a listed hedge, not an unreadable remark.
        return _AMBIGUOUS if by_text is None and _LETTER_LIST.search(cleaned) else by_text
    letter = (head.group(1) or head.group(2) or head.group(3)).upper()
    separator, rest = head.group(4), head.group(5).strip(" .")
    if not rest:  # "(c)", "\text{C}": a letter, even where an option's text is itself a letter ("c", "B.")
        return letter if letter in letters else by_text
    if head.group(3) and head.group(3).islower() and not separator:
        return by_text  # "a combination of ..." is an article, not option a
    named = _letter_of_option_text(rest, option_texts)
    if named is not None:
        return letter if named == letter and letter in letters else _AMBIGUOUS  # its own text, or another's
    if _CONNECTED_LETTER.match(rest) or _only_letters(rest):
        return _AMBIGUOUS
    if _names_another_option(rest, letter, letters, option_texts):
        return _AMBIGUOUS
    if _NEGATED_REST.match(rest):
        return letter if letter in letters else None
    if not separator and head.group(3):
        return by_text  # "B cells" is a phrase, not option B
    if whole_line and _LATER_CUE.search(rest):
        return None  # "A. Aspirin is not indicated; the correct answer is C": let the cue scan read it
    if letter not in letters:
        return by_text
    if by_text is not None and by_text != letter:
        return _AMBIGUOUS  # the letter reading and the option-text reading disagree
    return letter


def _names_another_option(rest: str, letter: str, letters: str, option_texts: tuple[str, ...] | None) -> bool:
    """Whether the text after ``letter`` lists another option: "A. Aspirin, Heparin", "A) Aspirin or C) Warfarin"."""
    for part in _LIST_SEPARATOR.split(rest):
        part = part.strip(" .")
        other = _LETTERED_PART.match(part)
        if other and other.group(1) != letter and other.group(1) in letters:
            return True
        named = _letter_of_option_text(part, option_texts) if part else None
        if named is not None and named != letter:
            return True
    return False


def _only_letters(rest: str) -> bool:
    """``BC`` style remainders: more single letters after the first."""
    tokens = re.split(r"[\s,;.()/&]+", rest)
    return all(len(token) == 1 and token.isalpha() for token in tokens if token) and any(tokens)


def _letter_of_option_text(candidate: str, option_texts: tuple[str, ...] | None) -> str | None:
    """The letter of the one option whose text equals ``candidate`` (normalised), else None."""
    if not option_texts:
        return None
    key = normalize_option_text(candidate)
    hits = [i for i, option in enumerate(option_texts) if _option_key(option) == key]
    if len(hits) > 1:  # options that differ only in case ("Bb bb" / "bb Bb"): only the exact-case text names one
        exact = normalize_option_text(candidate, fold_case=False)
        hits = [i for i in hits if normalize_option_text(option_texts[i], fold_case=False) == exact]
    return LETTERS[hits[0]] if len(hits) == 1 else None


def _single(readings: Iterable[str | None]) -> str | None:
    """The letter when all readings that commit agree; None on disagreement, a multi-commitment or no commitment."""
    found = {reading for reading in readings if reading is not None}
    if len(found) != 1 or _AMBIGUOUS in found:
        return None
    return found.pop()


def _extract_strict(text: str, option_texts: tuple[str, ...] | None) -> str | None:
    visible = after_think(text)
    if visible is None:
        return None
    reading = box_reading(visible, option_texts)
    return None if reading == _AMBIGUOUS else reading


def box_reading(text: str, option_texts: tuple[str, ...] | None) -> str | None:
    """The letter the last box names, ``_AMBIGUOUS`` when boxes name several options, None when no box answers.

    Boxes that name other options make the response a hedge; boxes with non-answers (numbers) are ignored.
    """
    contents = boxed_contents(text)
    if contents is None:
        return _AMBIGUOUS
    if not contents:
        return None
    readings = [read_choice(content, option_texts) for content in contents]
    if readings[-1] is None:
        return None
    return _single(readings) or _AMBIGUOUS


def answer_tag_contents(text: str) -> list[str]:
    """Contents of every closed ``<answer>…</answer>`` in order."""
    contents = []
    start = text.find("<answer>")
    while start >= 0:
        end = text.find("</answer>", start)
        if end < 0:
            break
        contents.append(text[start + len("<answer>") : end])
        start = text.find("<answer>", end)
    return contents


def _extract_tagged(text: str, option_texts: tuple[str, ...] | None) -> str | None:
    visible = after_think(text)
    if visible is None:
        return None
    reading = tag_reading(visible, option_texts)
    return None if reading == _AMBIGUOUS else reading


def tag_reading(text: str, option_texts: tuple[str, ...] | None) -> str | None:
    """The letter the last ``<answer>`` names, ``_AMBIGUOUS`` when tags name several options, None when none does."""
    contents = answer_tag_contents(text)
    if not contents:
        return None
    readings = [read_choice(content, option_texts) for content in contents]
    if readings[-1] is None or readings[-1] == _AMBIGUOUS:
        return readings[-1]
    return _single(readings) or _AMBIGUOUS


# Lenient reading -----------------------------------------------------------------------------------------------

_FEW_SHOT_CONTINUATION = re.compile(r"(?m)^[ \t]*(?:Question|Q)[ \t]*[:：]")
# Explicit commitments. Each pattern is tried only where its anchor (a rare literal, found with str.find on the
# lower-cased text) occurs: a regex scan over every position of every response was the lenient mode's main cost.
_WORD_CUE = re.compile(
    r"(?:answer|option|choice|statement|conclusion)(?:\s+(?:is|would\s+be|should\s+be|will\s+be)\b\s*[:：]?|\s*[:：=])"
    r"(?P<content>[^\n]{0,300})",  # CUE_WINDOW
    re.I,
)
_IS_PAREN_CUE = re.compile(r"(?i:is|be)\s+(?P<content>\([A-Z]\))")
_WORD_CUE_BEFORE = re.compile(r"(?:answer|option|choice|statement|conclusion)\s+(?:(?:would|should|will)\s+)?$", re.I)
_CLAIM_CUE = re.compile(r"(?:correct|best|right|likely)\s+(?:answer|option|choice)", re.I)
_CLAIM_HEAD = re.compile(r"(?:^|[^A-Za-z])(?P<content>\(?[A-Z]\)?)\s+is\s+(?:the\s+)?(?:most\s+)?$")
_ZH_CUE = re.compile(r"答案\s*(?:应该|应)?\s*(?:是|为|選|选)?\s*[:：]?\s*(?P<content>[^\n，。,]{0,40})")
_ZH_PICK_CUE = re.compile(r"(?<![不没未非别])[选選](?:择)?\s*(?P<content>[(（]?[A-Za-zＡ-Ｚａ-ｚ](?![A-Za-z])[)）]?)")
_CUE_ANCHORS = (
    *((word, _WORD_CUE) for word in ("answer", "option", "choice", "statement", "conclusion")),
    ("is (", _IS_PAREN_CUE),
    ("be (", _IS_PAREN_CUE),
    *((word, _CLAIM_CUE) for word in ("correct", "best", "right", "likely")),
    ("答案", _ZH_CUE),
    ("选", _ZH_PICK_CUE),
    ("選", _ZH_PICK_CUE),
)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_BOLD = re.compile(r"\*\*([^*\n]{1,300})\*\*")  # CUE_WINDOW
_OPTION_LINE = re.compile(r"(?m)^[ \t>*-]*\(?([A-Z])[.)][ \t]+([^\n]+)$")
_CUE_CONTENT_END = re.compile(r"(?<=[.!。])\s+(?=[A-Z])|\n")


def _extract_lenient(text: str, option_texts: tuple[str, ...] | None) -> str | None:
    continuation = _FEW_SHOT_CONTINUATION.search(text, 1)
    if continuation is not None:
        text = text[: continuation.start()]
    visible = after_think(text)
    if visible is None:
        return None
    if len(visible) > LENIENT_HEAD + LENIENT_TAIL:
        visible = visible[:LENIENT_HEAD] + "\n\n" + visible[-LENIENT_TAIL:]
    short_line = len(visible) <= CUE_WINDOW and "\n" not in visible.strip()
    whole = read_choice(visible, option_texts, whole_line=True) if short_line else None
    if whole is not None:
        return None if whole == _AMBIGUOUS else whole
    # An <answer> tag is the explicit final commitment of a Med-RLVR-style model.
    final = tag_reading(visible, option_texts) if "<answer>" in visible else None
    if final is None:
        final = _last_explicit_commitment(visible, option_texts)
    if final is not None:
        return None if final == _AMBIGUOUS else final
    # Weaker readings (bold, "X. option text" lines) count only when they all agree.
    bold = list(islice(_BOLD.finditer(visible), MAX_READINGS + 1))
    lines = list(islice(_OPTION_LINE.finditer(visible), MAX_READINGS + 1))
    if len(bold) + len(lines) > MAX_READINGS:
        return None
    weak = [read_choice(match.group(1), option_texts) for match in bold]
    weak += [_option_line_reading(match, option_texts) for match in lines]
    return _single(weak)


def _last_explicit_commitment(text: str, option_texts: tuple[str, ...] | None) -> str | None:
    """The reading of the last explicit answer (boxes and cues); unreadable cues are not commitments."""
    boxed = box_reading(text, option_texts)
    box_at = text.rfind("\\boxed") if boxed is not None else -1
    lowered = text.lower()
    if len(lowered) != len(text):  # a few non-ASCII letters lower-case to two characters
        lowered = text.translate(_ASCII_LOWER)
    # Most responses commit at the end: try the last stretch first (starting at a word boundary), then everything.
    tail_start = text.find(" ", max(0, len(text) - TAIL_FIRST))
    starts = (tail_start + 1, 0) if tail_start > 0 else (0,)
    for start in starts:
        attempts = 0
        for position, pattern in sorted(_cue_anchors(lowered, start), key=lambda anchor: anchor[0], reverse=True):
            if position < box_at:
                return boxed
            reading = _cue_reading(text, position, pattern, option_texts)
            if reading != _NOT_A_CUE:
                return reading
            attempts += 1
            if attempts >= MAX_READINGS:
                break
    return boxed


def _cue_anchors(lowered: str, start: int) -> list[tuple[int, re.Pattern[str]]]:
    anchors = []
    for token, pattern in _CUE_ANCHORS:
        position = lowered.find(token, start)
        while position >= 0:
            anchors.append((position, pattern))
            position = lowered.find(token, position + 1)
    return anchors


def _cue_reading(text: str, position: int, pattern: re.Pattern[str], option_texts: tuple[str, ...] | None) -> str:
    """The reading of the cue at ``position``; ``_NOT_A_CUE`` when nothing there commits to an answer."""
    match = pattern.match(text, position)
    if match is None:
        return _NOT_A_CUE
    if pattern is _IS_PAREN_CUE and (
        position > 0 and text[position - 1].isalnum() or _WORD_CUE_BEFORE.search(text, max(0, position - 24), position)
    ):
        return _NOT_A_CUE  # "this (A)" is not "is (A)"; "answer is (A) or (C)" is read whole by the word cue
    if pattern is _CLAIM_CUE:
        match = _CLAIM_HEAD.search(text, max(0, position - 24), position)
        if match is None:
            return _NOT_A_CUE
    content = match.group("content")
    if pattern is _WORD_CUE and not content.strip():  # "The correct answer is:\n\nC. <option text>"
        content = text[match.end() : match.end() + CUE_WINDOW].lstrip().split("\n", 1)[0]
    if "\\boxed" in content:
        return _NOT_A_CUE  # the box itself is read once, by boxed_contents
    # Read the whole line first ("C. <option text>", "(A) or (C)"), else its first sentence:
    # "The answer is (H). Senescence is ..." commits to (H).
    reading = read_choice(content, option_texts)
    if reading is None and pattern is _WORD_CUE:
        reading = read_choice(_CUE_CONTENT_END.split(content, 1)[0], option_texts)
    return _NOT_A_CUE if reading is None else reading


def _option_line_reading(match: re.Match[str], option_texts: tuple[str, ...] | None) -> str | None:
    """An ``X. text`` line counts only when ``text`` is option X's own text."""
    letter, rest = match.group(1), match.group(2)
    if not option_texts or _letter_of_option_text(rest.strip(" *"), option_texts) != letter:
        return None
    return letter
