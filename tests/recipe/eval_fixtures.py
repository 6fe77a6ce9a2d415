"""Small hand-written benchmark items (our own wording, GPQA included) written in the converters' layout.

Each benchmark gets items shaped like the real one (MedQA 4 options, MMLU-Pro and MedXpertQA up to 10,
PubMedQA yes/no/maybe), written through ``to_verl_record`` + ``write_records_parquet`` to
``<root>/<folder>/<split>.parquet`` exactly where ``EVAL_SPLITS`` says the converters put them.
"""

from __future__ import annotations

import struct
from pathlib import Path

from alphamed.data_preprocess import EVAL_SPLITS
from alphamed.data_preprocess.parquet_io import write_records_parquet
from alphamed.data_preprocess.schema import McqItem, to_verl_record

_TEN = [
    "Aspirin",
    "Heparin",
    "Warfarin",
    "Alteplase",
    "Clopidogrel",
    "Digoxin",
    "Metoprolol",
    "Atropine",
    "Adenosine",
    "Amiodarone",
]

_QUESTIONS: dict[str, list[tuple[str, list[str], str]]] = {
    "medqa": [
        (
            "A 60-year-old man has crushing chest pain and ST elevation in II, III and aVF. Which artery is occluded?",
            ["Right coronary artery", "Left circumflex artery", "Left anterior descending artery", "Aorta"],
            "A",
        ),
        (
            "A 25-year-old woman has heat intolerance, weight loss and a diffuse goitre. "
            "Which antibody is most likely?",
            ["Anti-TSH receptor", "Anti-Smith", "Anti-centromere", "Anti-mitochondrial"],
            "A",
        ),
        (
            "A child has a barking cough and inspiratory stridor. Which virus is the most likely cause?",
            ["Rhinovirus", "Parainfluenza virus", "Adenovirus", "Measles virus"],
            "B",
        ),
    ],
    "medmcqa": [
        (
            "Drug of choice for absence seizures in children is:",
            ["Phenytoin", "Ethosuximide", "Carbamazepine", "Phenobarbital"],
            "B",
        ),
        ("Vitamin deficiency causing night blindness is:", ["Vitamin A", "Vitamin B12", "Vitamin C", "Vitamin D"], "A"),
    ],
    "pubmedqa": [
        (
            "Context: In a cohort of 400 runners, knee pain was not more common than in non-runners. Question: Does "
            "recreational running cause knee osteoarthritis?",
            ["yes", "no", "maybe"],
            "B",
        ),
        (
            "Context: A randomised trial found lower mortality with early antibiotics in sepsis. Question: Do early "
            "antibiotics reduce sepsis mortality?",
            ["yes", "no", "maybe"],
            "A",
        ),
        (
            "Context: Two small studies disagree on the effect of vitamin D on falls. Question: Does vitamin D prevent "
            "falls in the elderly?",
            ["yes", "no", "maybe"],
            "C",
        ),
    ],
    "mmlu_pro_med": [
        (
            "Which drug is a direct thrombin inhibitor used as an alternative to heparin?",
            _TEN[:9] + ["Dabigatran"],
            "J",
        ),
        ("Which drug is first-line for terminating a stable narrow-complex re-entrant tachycardia?", _TEN, "I"),
    ],
    "gpqa_med": [
        (
            "Which enzyme joins Okazaki fragments during lagging-strand DNA replication?",
            ["DNA ligase", "Primase", "Helicase", "Topoisomerase II"],
            "A",
        ),
        (
            "Which organelle is the main site of beta-oxidation of very-long-chain fatty acids?",
            ["Mitochondrion", "Peroxisome", "Lysosome", "Golgi apparatus"],
            "B",
        ),
    ],
    "medxpertqa": [
        (
            "A patient on a drug for atrial fibrillation develops blue-grey skin and pulmonary fibrosis. Which drug?",
            _TEN,
            "J",
        ),
        ("Which drug given as a rapid intravenous bolus transiently blocks AV nodal conduction?", _TEN, "I"),
    ],
}


def benchmark_items() -> dict[str, list[McqItem]]:
    """Benchmark key -> its items (ids unique within a benchmark)."""
    return {
        name: [
            McqItem(id=f"{name}-{i}", source=name, split=EVAL_SPLITS[name][1], question=q, options=o, answer=a)
            for i, (q, o, a) in enumerate(rows)
        ]
        for name, rows in _QUESTIONS.items()
    }


def write_benchmark_dir(root: Path, prompt_style: str = "alphamed", only: tuple[str, ...] | None = None) -> Path:
    """Write each benchmark's evaluation parquet under ``root`` (the converters' ``--data_dir`` layout)."""
    for name, items in benchmark_items().items():
        if only is not None and name not in only:
            continue
        folder, split = EVAL_SPLITS[name]
        records = [to_verl_record(item, prompt_style, index) for index, item in enumerate(items)]
        write_records_parquet(records, root / folder / f"{split}.parquet")
    return root


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) read from a PNG's IHDR after checking its signature, independently of matplotlib."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])
