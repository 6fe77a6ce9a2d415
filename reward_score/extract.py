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
from enum import Enum
from functools import lru_cache
from itertools import islice
from operator import itemgetter

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
#: Lenient looks for "none of the options" in this many last characters.
CLOSING_STRETCH = 600
#: How far before the final commitment lenient looks for an earlier one to another option (a hedge).
CONFLICT_WINDOW = 3000


class Verdict(Enum):
    """A reading that is not one letter. Typed, so it can never pass for a letter outside this module."""

    AMBIGUOUS = "commits, but not to exactly one option"
    NOT_A_CUE = "an anchor that turned out not to be an answer"


#: One reading of a piece of text: a letter, a ``Verdict``, or None (it says nothing about the answer).
Reading = str | Verdict | None

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
#: "B (with correction)": a remark in brackets after a letter, nothing else.
_REMARK = re.compile(r"\([^()]*\)")
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


def read_choice(content: str, option_texts: tuple[str, ...] | None, *, whole_line: bool = False) -> Reading:
    """Normalise an answer's content and read the one option it names: a letter, ``Verdict.AMBIGUOUS`` or None.

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
        return Verdict.AMBIGUOUS if by_text is None and _LETTER_LIST.search(cleaned) else by_text
    letter = (head.group(1) or head.group(2) or head.group(3)).upper()
    separator, rest = head.group(4), head.group(5).strip(" .")
    if not rest:  # "(c)", "\text{C}": a letter, even where an option's text is itself a letter ("c", "B.")
        return letter if letter in letters else by_text
    if head.group(3) and head.group(3).islower() and not separator:
        return by_text  # "a combination of ..." is an article, not option a
    named = _letter_of_option_text(rest, option_texts)
    if named is not None:
        return letter if named == letter and letter in letters else Verdict.AMBIGUOUS  # its own text, or another's
    if _CONNECTED_LETTER.match(rest) or _only_letters(rest):
        return Verdict.AMBIGUOUS
    if _names_another_option(rest, letter, letters, option_texts):
        return Verdict.AMBIGUOUS
    if _NEGATED_REST.match(rest):
        return letter if letter in letters else None
    if not separator and head.group(3) and not _REMARK.fullmatch(rest):
        return by_text  # "B cells" is a phrase, not option B; "B (with correction)" is B with a remark
    if whole_line and _LATER_CUE.search(rest):
        return None  # "A. Aspirin is not indicated; the correct answer is C": let the cue scan read it
    if letter not in letters:
        return by_text
    if by_text is not None and by_text != letter:
        return Verdict.AMBIGUOUS  # the letter reading and the option-text reading disagree
    return letter


def _names_another_option(rest: str, letter: str, letters: str, option_texts: tuple[str, ...] | None) -> bool:
    """Whether the text after ``letter`` lists another option: "A. Aspirin, Heparin", "A) Aspirin or C) Warfarin"."""
    for part in _LIST_SEPARATOR.split(rest):
        part = part.strip(" .")
        other = _LETTERED_PART.match(part)
        if other and other.group(1) != letter and other.group(1) in letters:
            return True
        named = _letter_of_option_text(part.strip("()"), option_texts) if part else None
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


def _single(readings: Iterable[Reading]) -> str | None:
    """The letter when all readings that commit agree; None on disagreement, a multi-commitment or no commitment."""
    found = {reading for reading in readings if reading is not None}
    if len(found) != 1 or Verdict.AMBIGUOUS in found:
        return None
    return _letter_only(found.pop())


def _letter_only(reading: Reading) -> str | None:
    """What a public function may return: a letter, never a ``Verdict``."""
    return reading if isinstance(reading, str) else None


def _extract_strict(text: str, option_texts: tuple[str, ...] | None) -> str | None:
    visible = after_think(text)
    if visible is None:
        return None
    return _letter_only(box_reading(visible, option_texts))


def box_reading(text: str, option_texts: tuple[str, ...] | None) -> Reading:
    """The letter the last box names, ``Verdict.AMBIGUOUS`` when boxes name several options, None when none answers.

    Boxes that name other options make the response a hedge; boxes with non-answers (numbers) are ignored.
    """
    contents = boxed_contents(text)
    if contents is None:
        return Verdict.AMBIGUOUS
    if not contents:
        return None
    readings = [read_choice(content, option_texts) for content in contents]
    if readings[-1] is None:
        return None
    return _single(readings) or Verdict.AMBIGUOUS


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
    return _letter_only(tag_reading(visible, option_texts))


def tag_reading(text: str, option_texts: tuple[str, ...] | None) -> Reading:
    """The letter the last ``<answer>`` names, ``Verdict.AMBIGUOUS`` when tags name several, None when none does."""
    contents = answer_tag_contents(text)
    if not contents:
        return None
    readings = [read_choice(content, option_texts) for content in contents]
    if readings[-1] is None or readings[-1] is Verdict.AMBIGUOUS:
        return readings[-1]
    return _single(readings) or Verdict.AMBIGUOUS


# Lenient reading -----------------------------------------------------------------------------------------------
#
# One idea: find every *commitment* (a cue with one option reference after it) and take the final one. Explicit
# cues decide: a box, an answer tag, "the answer is", "Answer:", an "## Final Answer" heading, a JSON "answer" key,
# 答案 / 【答案】 / 正解は. Two explicit commitments to different options with no retraction between them are a
# hedge. Only a response with no explicit cue is read through the weaker commitments (a claim such as "the most
# likely diagnosis is <text>", "(option B)" closing a claim, an answer stated on the first line, a bare letter closing
# the response, bold text, "X. <its text>" lines), and only when they all agree.

_FEW_SHOT_CONTINUATION = re.compile(r"(?m)^[ \t]*(?:Question|Q)[ \t]*[:：]")
# Explicit commitments. Each pattern is tried only where its anchor (a rare literal, found with str.find on the
# lower-cased text) occurs: a regex scan over every position of every response was the lenient mode's main cost.
_WORD_CUE = re.compile(
    r"(?:answer|option|choice|statement|conclusion)(?:\s+(?:to|for)\s+(?:this|the)\s+question)?"
    r"(?:\s+(?:is|would\s+be|should\s+be|will\s+be)\b\s*[:：]?|\s*(?:\*\*|__)?[ \t]*[:：=])"
    r"(?P<content>[^\n]{0,300})",  # CUE_WINDOW
    re.I,
)
#: "## Final Answer" or "**Answer:**" alone on its line; the answer is on the next non-empty line.
_HEADING_CUE = re.compile(r"answer[ \t]*[:：]?[ \t]*(?:\*\*|__)?[ \t]*[:：]?[ \t]*\n(?P<content>)", re.I)
_HEADING_HEAD = re.compile(
    r"[ \t>]*(?:#{1,6}[ \t]*|\*\*|__)?[ \t]*(?:(?:the|my)[ \t]+)?(?:final|correct|best)?[ \t]*", re.I
)
_JSON_CUE = re.compile(
    r"(?:answer|choice|option)[a-z_]{0,20}(?P<q>[\"'])\s*:\s*(?P=q)(?P<content>[^\n]{0,300}?)(?P=q)", re.I
)
#: "I would choose B", "select (C)": a verb of choosing with a capital letter right after it.
_PICK_CUE = re.compile(
    r"(?i:choose|select|pick|go\s+with)\s+(?i:option\s+|choice\s+|answer\s+)?(?P<content>\(?[A-Z]\)?(?![A-Za-z])[^\n]{0,300})"
)
_IS_PAREN_CUE = re.compile(r"(?i:is|be)\s+(?P<content>\([A-Z]\))")
_WORD_CUE_BEFORE = re.compile(r"(?:answer|option|choice|statement|conclusion)\s+(?:(?:would|should|will)\s+)?$", re.I)
_CLAIM_CUE = re.compile(r"(?:correct|best|right|likely)\s+(?:answer|option|choice)", re.I)
_CLAIM_HEAD = re.compile(r"(?:^|[^A-Za-z])(?P<content>\(?[A-Z]\)?)\s+is\s+(?:the\s+)?(?:most\s+)?$")
#: A comma ends a CJK answer unless another lone letter follows it: "【答案】: B, D" names two options.
_CJK_MORE_LETTERS = r"(?:[,，、]\s*[A-Za-zＡ-Ｚａ-ｚ](?![A-Za-z])[^\n，。,、]{0,10})*"
_ZH_CUE = re.compile(
    r"答案\s*】?\s*(?:应该|应)?\s*(?:是|为|選|选)?\s*[:：]?\s*(?P<content>[^\n，。,]{0,40}" + _CJK_MORE_LETTERS + ")"
)
_ZH_PICK_CUE = re.compile(r"(?<![不没未非别])[选選](?:择)?\s*(?P<content>[(（]?[A-Za-zＡ-Ｚａ-ｚ](?![A-Za-z])[)）]?)")
_JA_CUE = re.compile(r"(?:正解|答え)\s*(?:は|:|：)\s*(?P<content>[^\n，。、,]{0,40}" + _CJK_MORE_LETTERS + ")")
#: Portuguese, Spanish, French: "A resposta correta é a letra A", "**Resposta: D**", "La respuesta es (C)".
_ROMANCE_CUE = re.compile(
    r"(?:resposta|respuesta|réponse)(?:\s+(?:correta|correcta|correcte|certa|final|finale))?(?:\s*(?:\*\*|__))?"
    r"(?:\s+(?:é|es|est|seria|sería|serait))?\s*[:：]?[ \t]*(?:(?:a|la)[ \t]+)?"
    r"(?:(?:letra|alternativa|opção|opcion|opción|option|lettre)[ \t]*[:：]?[ \t]*)?(?P<content>[^\n]{0,300})",
    re.I,
)
#: A check mark before an option marks the chosen one: "✅ A) <text of A>".
_CHECK_CUE = re.compile(r"[✅✔]\ufe0f?[ \t]*(?P<content>[^\n]{1,300})")
#: (anchor text, the cues tried where it occurs, in order); found anchors carry their position instead of the text.
Anchor = tuple[str | int, tuple[re.Pattern[str], ...]]
#: Non-ASCII anchors are looked for only in non-ASCII text.
_CUE_ANCHORS: tuple[Anchor, ...] = (
    ("answer", (_WORD_CUE, _HEADING_CUE, _JSON_CUE)),
    *((word, (_WORD_CUE, _JSON_CUE)) for word in ("option", "choice")),
    *((word, (_WORD_CUE,)) for word in ("statement", "conclusion")),
    *((word, (_PICK_CUE,)) for word in ("choose", "select", "pick", "go with")),
    *((word, (_IS_PAREN_CUE,)) for word in ("is (", "be (")),
    *((word, (_CLAIM_CUE,)) for word in ("correct", "best", "right", "likely")),
    ("答案", (_ZH_CUE,)),
    *((word, (_ZH_PICK_CUE,)) for word in ("选", "選")),
    *((word, (_JA_CUE,)) for word in ("正解", "答え")),
    *((word, (_ROMANCE_CUE,)) for word in ("resposta", "respuesta", "réponse")),
    *((mark, (_CHECK_CUE,)) for mark in ("✅", "✔")),
)
#: A hedge on one option is still a commitment to it: "the answer is most likely B, <text of B>".
_HEDGE = re.compile(
    r"\s*(?:most\s+|more\s+)?(?:likely|probably|presumably|possibly)(?:\s+(?:going\s+)?to\s+be)?\b\s*[:：]?", re.I
)
_SENTENCE_BREAK = re.compile(r"[.!?\n]+")
#: Where a sentence starts: after ".", "!", "?" or ";" (and any closing quote or bracket), or a line break.
_SENTENCE_START = r"(?:^|[.!?;][\"'”)\]]*\s+|\n\s*)"
#: A cue in a hypothesis ("If the patient were older, the answer would be C", "If we mean X, then the answer is
#: likely A") commits to nothing.
_HYPOTHESIS = re.compile(_SENTENCE_START + r"(?:if|had|were|unless|assuming)\b[^.!?\n]*$", re.I)
#: A sentence that concludes ("Therefore, among A through D, the answer is C"): its commitment outranks one made
#: earlier in the reasoning ("... the correct answer is cidofovir"), unless that one concluded too.
_CONCLUDING = re.compile(
    _SENTENCE_START + r"[*#> \t]*(?:therefore|thus|hence|so|in\s+conclusion|in\s+summary|to\s+summari[sz]e|"
    r"overall|finally|all\s+in\s+all)\b[^.!?\n]*$",
    re.I,
)
#: How far back from a cue its sentence's first word is looked for.
SENTENCE_LOOKBACK = 200
#: Words between two explicit commitments that take the earlier one back ("Wait — the answer is C").
_RETRACTION = re.compile(
    r"\b(?:wait|actually|however|but|instead|reconsider\w*|re-?evaluat\w*|mistake|correction|revis\w*|on second)\b",
    re.I,
)
# Weaker commitments, read only when no explicit cue commits.
_CLAIM_IS = re.compile(
    r"(?:most\s+(?:likely|appropriate|probable|suitable|useful|accurate)|best(?:-suited)?|correct)\b"
    r"[^.\n:;]{0,80}?\b(?:is|would\s+be|will\s+be|should\s+be)\b[ \t]*[:：]?(?P<content>[^\n]{0,300})",
    re.I,
)
_OPTION_BEFORE_CLAIM = re.compile(
    r"(?:^|[^A-Za-z])(?:option|choice)[ \t]+\(?(?P<content>[A-Z])\)?(?:[ \t]+\([^()\n]{1,80}\))?"
    r"[ \t]+(?:is|would[ \t]+be)[ \t]+(?:the[ \t]+)?$",
    re.I,
)
_CLAIM_BEFORE = re.compile(r"(?:correct|best|right|final|likely|appropriate|my)\s+$", re.I)
_PAREN_OPTION = re.compile(r"\((?:option|choice|answer)[ \t]*(?P<content>[A-Za-z])\)[ \t*]*(?:[.!。]|\n|$)", re.I)
_BARE_PAREN_OPTION = re.compile(r"\((?P<content>[A-Z])\)[ \t*]*(?:[.!。]|\n|$)")
_IS_BE = re.compile(r"\b(?:is|are|was|were|be)\b", re.I)
#: A bare "(C)" closing a sentence commits only in a sentence that claims outright ("at the greatest risk for").
_STRONG_CLAIM = re.compile(r"\b(?:most|best|greatest|highest|correct|answer)\b", re.I)
#: "<text of B>, which is characterized by ...": the option's text ends where a clause about it begins.
_CLAUSE_AFTER = re.compile(r",\s+(?:which|as|because|since|given|due|that|who|with)\b", re.I)
_NOT_COMMITTING = re.compile(
    r"\b(?:not|no|never|unlikely|less|wrong|incorrect|false|rule[sd]?|exclude[sd]?|except|answer|correct|"
    r"possib\w*|could|may|might)\b",
    re.I,
)
_WEAK_ANCHORS: tuple[Anchor, ...] = (
    *((word, (_CLAIM_IS,)) for word in ("most ", "best", "correct")),
    *((word, (_PAREN_OPTION,)) for word in ("(option", "(choice", "(answer")),
    *((word, (_BARE_PAREN_OPTION,)) for word in (").", ")\n")),
)
#: The first line opens with an option: "C) ...", "(C) ...", "C. ...", "c) ...", "d (<text of d>)".
_LEADING_OPTION = re.compile(
    r"[ \t>*#]*(?:\((?P<paren>[A-Za-z])\)|(?P<upper>[A-Z])[.):]|(?P<lower>[a-z])\)|(?P<bare>[a-z])(?=[ \t]+\())"
    r"[ \t]*(?P<rest>[^\n]*)"
)
_OTHER_OPTION_LINE = re.compile(r"(?m)^[ \t>*#-]*\(?([A-Za-z])[.)]")
#: An option closing the response after a question or a colon: "... the next step? A.", "not seen in: A) <text>".
_CLOSING_OPTION = re.compile(r"[?:：\n][ \t\n]*(?P<content>\(?[A-Z](?:\)|\.|\)?[ \t]*$)[^\n]{0,200}?)[ \t\n]*$")
_NO_OPTION_FITS = re.compile(
    r"\b(?:none of the (?:given |listed |above |provided )?(?:options|choices|answers|answer choices)|"
    r"not (?:one )?(?:of|among) the (?:given |listed |provided )?(?:options|choices)|"
    r"no (?:option|choice) is correct)\b",
    re.I,
)
#: An answer given in a field of its own: "Answer: A", a JSON answer key, a box, an answer tag.
_LABELLED_ANSWER = re.compile(r"(?:answer|choice|option)\w{0,20}[\"']?[ \t]*[:：]|\\boxed|<answer>", re.I)
_LISTING = re.compile(r"\b(?:options|choices|following)\b", re.I)
#: "A, <text of A>", "(B) <text of B>", "d (<text of d>)", "D, or <text of D>": a letter with its own option's text.
_LETTER_THEN_TEXT = re.compile(
    r"\(?([A-Za-z])\)?(?:[ \t]*[,.:)\-–][ \t]*(?:(?:or|i\.e\.,?|namely)[ \t]+)?|[ \t]+(?=\())(.+)", re.S
)
_SPECIAL_TOKEN = re.compile(r"<[^<>\s]{1,20}>")  # "<eoa>", "<|im_end|>": generation markers, not content
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_BOLD = re.compile(r"\*\*([^*\n]{1,300})\*\*")  # CUE_WINDOW
_CUE_CONTENT_END = re.compile(r"(?<=[.!。])\s+(?=[A-Z])|\n")
#: How far before a claim ("... is the most likely") its option letter may stand.
CLAIM_LOOKBACK = 120


def _extract_lenient(text: str, option_texts: tuple[str, ...] | None) -> str | None:
    visible = _lenient_view(text)
    if visible is None:
        return None
    short_line = len(visible) <= CUE_WINDOW and "\n" not in visible.strip()
    whole = read_choice(visible, option_texts, whole_line=True) if short_line else None
    if whole is not None:
        return _letter_only(whole)
    # An <answer> tag is the explicit final commitment of a Med-RLVR-style model.
    final = tag_reading(visible, option_texts) if "<answer>" in visible else None
    final_at = visible.rfind("<answer>")
    if final is None:
        final, final_at = _explicit_commitment(visible, option_texts)
    if final is None:
        final, final_at = _single(_weak_readings(visible, option_texts)), -1
    if final is not None and _says_no_option_fits(visible, option_texts, final_at):
        return None  # "the answer is not one of the options; the closest is B" picks nothing
    return _letter_only(final)


def _says_no_option_fits(text: str, option_texts: tuple[str, ...] | None, committed_at: int) -> bool:
    """The response says no option is right (and no option is itself "none of the above"), and does not go on to
    answer in a labelled field anyway: "None of the options fits exactly ... Answer: A" and a JSON answer key after
    such a remark are forced picks; "... the closest option is B" is not."""
    labelled = committed_at >= 0 and _LABELLED_ANSWER.match(text, committed_at) is not None
    tail = text[max(len(text) - CLOSING_STRETCH, committed_at if labelled else 0) :]
    if "option" not in tail and "choice" not in tail and "answers" not in tail:
        return False  # every phrase below names options, choices or answers; most responses do not
    if _NO_OPTION_FITS.search(tail) is None:
        return False
    return not option_texts or not any("none" in _option_key(option) for option in option_texts)


def _lenient_view(text: str) -> str | None:
    """The part of a response lenient reads: before any few-shot continuation, after ``</think>``, head and tail."""
    continuation = _FEW_SHOT_CONTINUATION.search(text, 1)
    if continuation is not None:
        text = text[: continuation.start()]
    visible = after_think(text)
    if visible is not None and len(visible) > LENIENT_HEAD + LENIENT_TAIL:
        visible = visible[:LENIENT_HEAD] + "\n\n" + visible[-LENIENT_TAIL:]
    return visible


def _lowered(text: str) -> str:
    """Lower-cased text with the same length, so anchor positions index ``text``."""
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else text.translate(_ASCII_LOWER)


def _explicit_commitment(text: str, option_texts: tuple[str, ...] | None) -> tuple[Reading, int]:
    """The final explicit commitment (last box or cue) and where it stands; ``AMBIGUOUS`` when an earlier one within
    ``CONFLICT_WINDOW`` names another option and nothing between them takes it back. None when no cue commits.

    One pass from the end over at most ``MAX_READINGS`` cues: most responses commit once, near the end.
    """
    boxed = box_reading(text, option_texts)
    box_at = text.rfind("\\boxed") if boxed is not None else -1
    final: Reading = None
    final_at = -1
    for position, patterns in _cue_anchors(_lowered(text), _CUE_ANCHORS):
        if box_at > position:  # the box comes after this cue: it is read first
            final, final_at = _weigh(text, final, final_at, boxed, box_at)
            box_at = -1
        if final is not None and position < final_at - CONFLICT_WINDOW or final is Verdict.AMBIGUOUS:
            break
        for pattern in patterns:  # one place holds one commitment: "answer" as a word, a heading or a JSON key
            reading = _cue_reading(text, position, pattern, option_texts)
            if reading is not Verdict.NOT_A_CUE:
                final, final_at = _weigh(text, final, final_at, reading, position)
                break
    if box_at >= 0 and final is not Verdict.AMBIGUOUS:
        final, final_at = _weigh(text, final, final_at, boxed, box_at)
    return final, final_at


def _weigh(text: str, final: Reading, final_at: int, earlier: Reading, earlier_at: int) -> tuple[Reading, int]:
    """The final commitment after meeting an ``earlier`` one: the first met is final; an earlier letter to another
    option with no retraction between them makes it ``AMBIGUOUS``."""
    if final is None:
        return earlier, earlier_at
    if (
        isinstance(earlier, str)
        and earlier != final
        and not _RETRACTION.search(text, earlier_at, final_at)
        and not (_in_sentence(_CONCLUDING, text, final_at) and not _in_sentence(_CONCLUDING, text, earlier_at))
    ):
        return Verdict.AMBIGUOUS, final_at
    return final, final_at


def _in_sentence(opening: re.Pattern[str], text: str, position: int) -> bool:
    """Whether the sentence holding ``position`` opens as ``opening`` says (a conclusion, a hypothesis)."""
    return opening.search(text, max(0, position - SENTENCE_LOOKBACK), position) is not None


def _cue_anchors(lowered: str, anchors: tuple[Anchor, ...]) -> list[Anchor]:
    """(position, cues to try there) for the last ``MAX_READINGS`` anchors, last first.

    Each anchor is looked for from the end and at most ``MAX_READINGS`` times, so a text made of cues costs no more
    than one with a few."""
    found = []
    ascii_only = lowered.isascii()
    for token, patterns in anchors:
        if ascii_only and not token.isascii():
            continue
        position = lowered.rfind(token)
        for _ in range(MAX_READINGS):
            if position < 0:
                break
            found.append((position, patterns))
            position = lowered.rfind(token, 0, position)
    found.sort(key=itemgetter(0), reverse=True)
    return found[:MAX_READINGS]


def _cue_reading(text: str, position: int, pattern: re.Pattern[str], option_texts: tuple[str, ...] | None) -> Reading:
    """The reading of the cue at ``position``; ``NOT_A_CUE`` when nothing there commits to an answer."""
    match = pattern.match(text, position)
    if match is None or not _cue_stands(text, position, pattern):
        return Verdict.NOT_A_CUE
    if pattern is _CLAIM_CUE:
        match = _CLAIM_HEAD.search(text, max(0, position - 24), position)
        if match is None:
            return Verdict.NOT_A_CUE
    content = _SPECIAL_TOKEN.sub(" ", match.group("content"))
    hedge = _HEDGE.match(content) if pattern is _WORD_CUE else None
    if hedge is not None:
        content = content[hedge.end() :]
    if pattern in (_WORD_CUE, _HEADING_CUE, _CLAIM_IS, _ROMANCE_CUE) and not content.strip():  # "The answer is:\n\nC."
        if not _introduces_an_answer(text, position, match.group(0), claims=pattern in (_CLAIM_IS, _ROMANCE_CUE)):
            return Verdict.NOT_A_CUE  # "Let's analyze each option:\n\nA) ..." introduces a list, not an answer
        content = text[match.end() : match.end() + CUE_WINDOW].lstrip().split("\n", 1)[0]
    if "\\boxed" in content:
        return Verdict.NOT_A_CUE  # the box itself is read once, by boxed_contents
    prose = pattern in (_WORD_CUE, _HEADING_CUE, _CLAIM_IS, _PICK_CUE, _ROMANCE_CUE, _CHECK_CUE)
    reading = _content_reading(content, option_texts, first_sentence=prose)
    return Verdict.NOT_A_CUE if reading is None else reading


def _introduces_an_answer(text: str, position: int, cue: str, *, claims: bool) -> bool:
    """Whether a cue ending its line ("The correct answer is:", "## Final Answer", "each option:") names an answer
    on the next line: it says "answer" or claims ("best option:"), and the next lines do not list options."""
    if not (claims or cue[:6].lower() == "answer" or _CLAIM_BEFORE.search(text, max(0, position - 24), position)):
        return False
    following = _OTHER_OPTION_LINE.findall(text, position, position + 2 * CUE_WINDOW)
    return len({letter.upper() for letter in following}) <= 1


def _cue_stands(text: str, position: int, pattern: re.Pattern[str]) -> bool:
    """Context checks a cue's own regex cannot make without scanning backwards."""
    if pattern is _IS_PAREN_CUE:
        # "this (A)" is not "is (A)"; "answer is (A) or (C)" is read whole by the word cue
        return not (
            position > 0
            and text[position - 1].isalnum()
            or _WORD_CUE_BEFORE.search(text, max(0, position - 24), position)
        )
    if pattern is _WORD_CUE:
        return not _in_sentence(_HYPOTHESIS, text, position)
    if pattern is _HEADING_CUE:
        line_start = text.rfind("\n", 0, position) + 1
        return position - line_start <= 40 and _HEADING_HEAD.fullmatch(text, line_start, position) is not None
    return True


def _content_reading(content: str, option_texts: tuple[str, ...] | None, *, first_sentence: bool) -> Reading:
    """What a cue's content names: a letter with its own text, the whole line, else (prose cues) its first sentence.

    "The answer is (H). Senescence is ..." commits to (H).
    """
    reading = read_choice(content, option_texts)
    if not isinstance(reading, str):  # "A, <text of A>" reads as a list of letters there
        reading = _letter_with_own_text(content, option_texts) or reading
    if reading is None and first_sentence:
        sentence = _CUE_CONTENT_END.split(content, 1)[0]
        reading = read_choice(sentence, option_texts) or _letter_of_option_text(
            _CLAUSE_AFTER.split(sentence, 1)[0], option_texts
        )
    return reading


def _letter_with_own_text(content: str, option_texts: tuple[str, ...] | None) -> str | None:
    """ "A, <text of A>." or "d (<text of d>)": a letter with exactly its own option's text, in looser delimiters."""
    match = _LETTER_THEN_TEXT.fullmatch(content.strip())
    if match is None or not option_texts:
        return None
    letter = match.group(1).upper()
    rest = _CUE_CONTENT_END.split(match.group(2), 1)[0].strip(" .*")
    if rest.startswith("(") and rest.endswith(")"):
        rest = rest[1:-1]
    return letter if rest and _letter_of_option_text(rest, option_texts) == letter else None


def _weak_readings(text: str, option_texts: tuple[str, ...] | None) -> list[Reading]:
    """Every weaker commitment; more than ``MAX_READINGS`` bold or option lines is a spray, read as a hedge."""
    bold = list(islice(_BOLD.finditer(text), MAX_READINGS + 1))
    if len(bold) > MAX_READINGS:
        return [Verdict.AMBIGUOUS]
    readings: list[Reading] = [read_choice(match.group(1), option_texts) for match in bold]
    anchors = _cue_anchors(_lowered(text), _WEAK_ANCHORS)
    readings += [_claim_reading(text, position, patterns[0], option_texts) for position, patterns in anchors]
    readings.append(_answer_first_reading(text, option_texts))
    readings.append(_closing_option_reading(text, option_texts))
    return [reading for reading in readings if reading is not Verdict.NOT_A_CUE]


def _closing_option_reading(text: str, option_texts: tuple[str, ...] | None) -> Reading:
    """A bare letter, or a letter with its own text, closing the response after a question or a colon."""
    closing = _CLOSING_OPTION.search(text, max(0, len(text) - CUE_WINDOW))
    if closing is None or _LISTING.search(text, max(0, closing.start() - 40), closing.start()):
        return None  # "Let's review the options:\nA) <text>" cut off is a list starting, not an answer
    if _OTHER_OPTION_LINE.match(text[text.rfind("\n", 0, closing.start()) + 1 : closing.start()]):
        return None  # the last line of a list of options
    content = closing.group("content").strip(" .")
    return read_choice(content, option_texts) if len(content) <= 3 else _letter_with_own_text(content, option_texts)


def _claim_reading(text: str, position: int, pattern: re.Pattern[str], option_texts: tuple[str, ...] | None) -> Reading:
    """A claim ("the most likely diagnosis is <text>", "Option A (...) is the most likely") or "(option B)" closing
    a sentence that claims something."""
    if pattern is _PAREN_OPTION:
        return _paren_option_reading(text, position, pattern, option_texts)
    if pattern is _BARE_PAREN_OPTION:
        return _paren_option_reading(text, position - 2, pattern, option_texts)
    before = _OPTION_BEFORE_CLAIM.search(text, max(0, position - CLAIM_LOOKBACK), position)
    if before is not None:
        return read_choice(before.group("content"), option_texts)
    return _cue_reading(text, position, pattern, option_texts)


def _paren_option_reading(
    text: str, position: int, pattern: re.Pattern[str], option_texts: tuple[str, ...] | None
) -> Reading:
    """ "... the most likely diagnosis is <text of B> (option B).": counts when its sentence claims (is/be, no
    negation; a bare "(B)" needs an outright claim) and the text before it names no other option."""
    match = pattern.match(text, position) if position >= 0 else None
    if match is None:
        return Verdict.NOT_A_CUE
    window = max(0, position - CUE_WINDOW)
    sentence_start = max(text.rfind(". ", window, position), text.rfind("\n", window, position), window - 1) + 1
    sentence = text[sentence_start:position]
    claims = list(_IS_BE.finditer(sentence))
    if not claims or _NOT_COMMITTING.search(sentence, claims[-1].end()):
        return Verdict.NOT_A_CUE
    if pattern is _BARE_PAREN_OPTION and not _STRONG_CLAIM.search(sentence):
        return Verdict.NOT_A_CUE
    letter = read_choice(match.group("content"), option_texts)
    named = _letter_of_option_text(sentence[claims[-1].end() :].strip(" *"), option_texts)
    return Verdict.AMBIGUOUS if named is not None and named != letter else letter


def _answer_first_reading(text: str, option_texts: tuple[str, ...] | None) -> Reading:
    """An answer stated on the first line ("C) <text of C>", "D) <text of D> is causing ..."), then argued for:
    it counts unless another line opens another option (an enumeration) or the line argues against it. A first
    sentence that is exactly one option's text counts too ("Yes. The study found ..." for yes / no / maybe)."""
    start = len(text) - len(text.lstrip())
    match = _LEADING_OPTION.match(text, start)
    if match is None:
        first = _CUE_CONTENT_END.split(text[start : start + CUE_WINDOW], 1)[0].strip(" .*")
        named = _letter_of_option_text(first, option_texts) if first else None
        return None if named is None or _recites_other_options(text, named, option_texts) else named
    letter = (match.group("paren") or match.group("upper") or match.group("lower") or match.group("bare")).upper()
    letters = LETTERS if option_texts is None else LETTERS[: len(option_texts)]
    if letter not in letters:
        return None
    sentence = _CUE_CONTENT_END.split(match.group("rest"), 1)[0].strip(" .*()")
    if sentence and not _opens_with_own_text(sentence, letter, option_texts):
        return None
    return None if _lists_other_options(text, letter) else letter


def _recites_other_options(text: str, letter: str, option_texts: tuple[str, ...] | None) -> bool:
    """Whether a sentence of the response's head is another option's text: it recites the options, it does not
    answer with one ("The lining is replaced monthly. The lining secretes a hormone. ...")."""
    sentences = islice(_SENTENCE_BREAK.split(text[:LENIENT_HEAD]), MAX_READINGS * 4)
    return any(_letter_of_option_text(sentence, option_texts) not in (None, letter) for sentence in sentences)


def _lists_other_options(text: str, letter: str) -> bool:
    """Whether some line opens with an option other than ``letter``: the response enumerates options."""
    return any(line.group(1).upper() != letter for line in islice(_OTHER_OPTION_LINE.finditer(text), MAX_READINGS))


def _opens_with_own_text(sentence: str, letter: str, option_texts: tuple[str, ...] | None) -> bool:
    """Whether ``sentence`` starts with option ``letter``'s text and goes on without arguing against it.

    A sentence about as long as the option's text that names no other option counts too: some releases carry
    stray quotes or line breaks in their option texts ("Deep vein thrombosis\\n\"").
    """
    if not option_texts:
        return False
    own = _option_key(option_texts[LETTERS.index(letter)])
    key = normalize_option_text(sentence)
    if key == own:
        return True
    if _NOT_COMMITTING.search(key, len(own) if key.startswith(own) else 0):
        return False
    return (
        key.startswith(own + " ")
        or len(key) <= len(own) + 8
        and read_choice(f"{letter}) {key}", option_texts) == letter
    )
