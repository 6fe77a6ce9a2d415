"""Dataset converters: raw medical MCQA releases -> McqItem -> veRL parquet (one module per dataset)."""

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
