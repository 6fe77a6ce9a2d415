"""Prompt styles, each paired with the answer-extraction mode that reads what it asks for.

As in veRL's gsm8k example, the instruction in the prompt and the parser in the scorer are a matching pair:
``alphamed`` asks for the final letter in ``\\boxed{}`` and is scored with ``strict`` extraction;
``med_rlvr`` asks for ``<think>…</think><answer>…</answer>`` and is scored with ``tagged`` extraction.
"""

from __future__ import annotations

from collections.abc import Sequence

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

ALPHAMED_INSTRUCTION = (
    "Answer the multiple-choice question above. Think it through step by step, then give the letter of the "
    "single best option as your final answer inside \\boxed{}, for example \\boxed{A}."
)

MED_RLVR_SYSTEM = (
    "A conversation between a user and an assistant. The user asks a question and the assistant solves it. "
    "The assistant first reasons about the question in its mind and then gives the user the answer. The "
    "reasoning is enclosed in <think> </think> tags and the answer in <answer> </answer> tags, i.e. "
    "<think> reasoning here </think><answer> answer here </answer>."
)

MED_RLVR_INSTRUCTION = (
    "Answer the multiple-choice question above. Put your reasoning inside <think> </think> and only the letter "
    "of the single best option inside <answer> </answer>."
)

#: prompt style -> the ``extract_answer`` mode that scores it.
EXTRACTION_MODE = {"alphamed": "strict", "med_rlvr": "tagged"}
PROMPT_STYLES = tuple(EXTRACTION_MODE)


def format_options(options: Sequence[str]) -> str:
    """Options as ``A. text`` lines: the letter is the option's position."""
    return "\n".join(f"{_LETTERS[i]}. {text.strip()}" for i, text in enumerate(options))


def build_prompt(question: str, options: Sequence[str], prompt_style: str) -> list[dict[str, str]]:
    """Chat messages for one question; veRL applies the model's chat template to them."""
    body = f"{question.strip()}\n\n{format_options(options)}"
    if prompt_style == "alphamed":
        return [{"role": "user", "content": f"{body}\n\n{ALPHAMED_INSTRUCTION}"}]
    if prompt_style == "med_rlvr":
        return [
            {"role": "system", "content": MED_RLVR_SYSTEM},
            {"role": "user", "content": f"{body}\n\n{MED_RLVR_INSTRUCTION}"},
        ]
    raise ValueError(f"unknown prompt_style {prompt_style!r}; choose one of {sorted(EXTRACTION_MODE)}")
