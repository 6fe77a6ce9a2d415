"""Dataset converters: raw medical MCQA releases -> McqItem -> veRL parquet (one module per dataset)."""

from __future__ import annotations

#: ``alphamed prepare <name>`` -> module in this package.
CONVERTERS = {
    "medqa": "medqa",
    "medmcqa": "medmcqa",
    "pubmedqa": "pubmedqa",
    "headqa": "headqa",
    "mmlu_pro": "mmlu_pro",
    "gpqa": "gpqa",
    "medxpertqa": "medxpertqa",
    "huatuo_eval": "huatuo_eval",
}

#: ``data_source`` keys (what parquet rows, ``alphamed eval --benchmarks`` and veRL's metrics call a dataset) that
#: differ from a converter's name -> (converter, the flags that make that data_source). ``alphamed prepare``
#: accepts both spellings, so one vocabulary works everywhere.
DATA_SOURCE_ALIASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "mmlu_pro_med": ("mmlu_pro", ()),
    "gpqa_med": ("gpqa", ()),
    "medqa_5opt": ("medqa", ("--num_options", "5")),
}


def resolve_dataset(name: str, argv: list[str]) -> tuple[str | None, list[str]]:
    """``(converter module, argv)`` for a converter name or a data_source alias; ``(None, argv)`` when unknown.

    An alias's own flags go first; a contradicting flag given too is an error (``ValueError``), never a silent
    override.
    """
    if name in CONVERTERS:
        return CONVERTERS[name], list(argv)
    if name not in DATA_SOURCE_ALIASES:
        return None, list(argv)
    converter, implied = DATA_SOURCE_ALIASES[name]
    clashing = [flag for flag in implied[::2] if any(word.split("=", 1)[0] == flag for word in argv)]
    if clashing:
        raise ValueError(f"{name} implies {' '.join(implied)}; drop {', '.join(clashing)} or use `prepare {converter}`")
    return CONVERTERS[converter], [*implied, *argv]


#: Default root the converters write under: ``<DATA_ROOT>/<dir>/<split>.parquet``.
DEFAULT_DATA_ROOT = "~/data/alphamed"

#: data_source key -> (folder under the data root, split) of each of the six evaluation benchmarks.
EVAL_SPLITS = {
    "medqa": ("medqa", "test"),
    "medmcqa": ("medmcqa", "validation"),
    "pubmedqa": ("pubmedqa", "test"),
    "mmlu_pro_med": ("mmlu_pro", "test"),
    "gpqa_med": ("gpqa", "test"),
    "medxpertqa": ("medxpertqa", "test"),
}

#: data_source key -> (folder, split) of the default training data when no mix is given.
TRAIN_SPLITS = {
    "medqa": ("medqa", "train"),
    "medmcqa": ("medmcqa", "train"),
    "pubmedqa": ("pubmedqa", "train"),
}
