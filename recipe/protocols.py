"""Evaluation protocols: the exact item set each published table scored on, and the denominators it used.

A score is comparable with a paper's only when computed on the same items, so ``alphamed eval --protocol NAME``
reads the files that reproduce one protocol and its report prints each benchmark's n beside the published one:

- ``release``: the datasets' own evaluation splits, as our converters write them by default.
- ``huatuo_o1``: HuatuoGPT-o1's combined evaluation file (``alphamed prepare huatuo_eval``), which HuatuoGPT-o1
  and the papers that compare with it score on. Its PubMedQA is all 1000 PQA-L items, its GPQA medical the 78
  Biology questions of GPQA main listed five times (390 rows).
- ``alphamed``: AlphaMed's six benchmarks, i.e. ``huatuo_o1`` plus MedXpertQA Text, which that file lacks.
- ``med_rlvr``: Med-RLVR's MedQA test (in distribution) and MMLU-Pro's health category (out of distribution).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alphamed.data_preprocess import EVAL_SPLITS

DEFAULT_PROTOCOL = "release"
HUATUO_FILE = "HuatuoGPT-o1 evaluation/data/eval_data.json (Chen et al. 2024, arXiv 2412.18925)"


@dataclass(frozen=True)
class BenchmarkFile:
    """Where one benchmark of a protocol lives, which converter writes it, and its published denominator."""

    folder: str
    split: str
    converter: str
    published_n: int
    source: str
    converter_flags: str = ""

    def path(self, data_dir: str | Path) -> Path:
        return Path(data_dir).expanduser() / self.folder / f"{self.split}.parquet"

    def command(self, data_dir: str | Path) -> str:
        """The converter call that writes this file (the release files come from ``--local_dataset_path``)."""
        flags = f" {self.converter_flags}" if self.converter_flags else ""
        return (
            f"alphamed prepare {self.converter} --split {self.split}{flags} "
            f"--local_save_dir {self.path(data_dir).parent}"
        )


def _release(benchmark: str, converter: str, published_n: int, source: str) -> BenchmarkFile:
    folder, split = EVAL_SPLITS[benchmark]
    return BenchmarkFile(folder, split, converter, published_n, source)


def _huatuo(benchmark: str, published_n: int, list_name: str) -> BenchmarkFile:
    return BenchmarkFile("huatuo_eval", benchmark, "huatuo_eval", published_n, f"{HUATUO_FILE}, list {list_name}")


RELEASE = {
    "medqa": _release("medqa", "medqa", 1273, "MedQA US 4-option test (Jin et al. 2021, Applied Sciences)"),
    "medmcqa": _release("medmcqa", "medmcqa", 4183, "MedMCQA dev set (Pal et al. 2022, CHIL), its test is unlabelled"),
    "pubmedqa": _release("pubmedqa", "pubmedqa", 500, "PubMedQA PQA-L test, test_ground_truth.json (Jin et al. 2019)"),
    "mmlu_pro_med": _release(
        "mmlu_pro_med", "mmlu_pro", 1535, "MMLU-Pro test, health 818 + biology 717 (Wang et al. 2024, NeurIPS D&B)"
    ),
    "gpqa_med": _release("gpqa_med", "gpqa", 78, "GPQA main, Biology domain (Rein et al. 2023): 78 of 448"),
    "medxpertqa": _release("medxpertqa", "medxpertqa", 2450, "MedXpertQA Text test (Zuo et al. 2025, ICML)"),
}
HUATUO_O1 = {
    "medqa": _huatuo("medqa", 1273, "MedQA_USLME_test"),
    "medmcqa": _huatuo("medmcqa", 4183, "MedMCQA_validation"),
    "pubmedqa": _huatuo("pubmedqa", 1000, "PubMedQA_test"),
    "mmlu_pro_med": _huatuo("mmlu_pro_med", 1535, "MMLU-Pro_Medical_test"),
    "gpqa_med": _huatuo("gpqa_med", 390, "GPQA_Medical_test"),
}

#: protocol -> benchmark (data_source key) -> its file; the benchmark order is the report's.
PROTOCOLS: dict[str, dict[str, BenchmarkFile]] = {
    "release": RELEASE,
    "huatuo_o1": HUATUO_O1,
    "alphamed": {**HUATUO_O1, "medxpertqa": RELEASE["medxpertqa"]},
    "med_rlvr": {
        "medqa": RELEASE["medqa"],
        "mmlu_pro_med": BenchmarkFile(
            "mmlu_pro_health",
            "test",
            "mmlu_pro",
            818,
            "MMLU-Pro test, health category (Wang et al. 2024): Med-RLVR's out-of-distribution set",
            converter_flags="--categories health",
        ),
    },
}


def protocol_files(protocol: str, benchmarks: Sequence[str] | None = None) -> dict[str, BenchmarkFile]:
    """The files of ``benchmarks`` (default: all of the protocol's); a benchmark the protocol lacks is an error."""
    files = PROTOCOLS[protocol]
    names = list(files) if benchmarks is None else list(benchmarks)
    missing = [name for name in names if name not in files]
    if missing:
        raise ValueError(f"protocol {protocol} has no {', '.join(missing)}; its benchmarks are {', '.join(files)}")
    return {name: files[name] for name in names}


def published_denominators(protocol: str, benchmarks: Sequence[str]) -> dict[str, Any]:
    """What a report records about its protocol: the name and, per benchmark, the published n and its source."""
    files = protocol_files(protocol, benchmarks)
    return {
        "name": protocol,
        "published": {name: {"n": f.published_n, "source": f.source} for name, f in files.items()},
    }


def denominator_section(protocol: Mapping[str, Any], n_by_benchmark: Mapping[str, int]) -> str:
    """Markdown: each benchmark's n beside the published denominator, and a warning for every difference."""
    published = protocol.get("published") or {}
    lines = [
        f"## Denominators (protocol `{protocol.get('name', '?')}`)",
        "",
        "| benchmark | n | published n | source |",
        "|---|---:|---:|---|",
    ]
    warnings = []
    for name, n in n_by_benchmark.items():
        entry = published.get(name)
        if entry is None:
            lines.append(f"| {name} | {n} | n/a | not part of this protocol |")
            continue
        lines.append(f"| {name} | {n} | {entry['n']} | {entry['source']} |")
        if n != entry["n"]:
            warnings.append(
                f"- **Warning:** {name} was scored on {n} items, the published table on {entry['n']}: "
                "not comparable with the paper's number."
            )
    return "\n".join([*lines, *([""] + warnings if warnings else [])])
