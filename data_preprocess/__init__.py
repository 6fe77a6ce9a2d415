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
}
