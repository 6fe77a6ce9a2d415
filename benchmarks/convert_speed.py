"""How fast a MedMCQA-train-sized file becomes veRL parquet (target: <= 5 s, >= 35k rows/s, on 2 CPU cores).

Builds a release-layout ``train.json`` (JSON Lines, ``cop`` 1-4) of 182,822 rows -- MedMCQA train's size -- by
repeating real validation rows from ``../shared/data/medmcqa`` (or the shipped sample when that is absent)
with new ids, runs the ``medmcqa`` converter on it a few times and prints the median. Each copy's question
gets a ``[copy N]`` suffix: exact duplicates would be dropped by the converter's de-duplication, and the
benchmark is meant to time the full path (read, map, validate, write 182,822 records), not the dedup shortcut.

    python benchmarks/convert_speed.py                 # median of 3 runs
    python benchmarks/convert_speed.py --profile       # plus where the time goes (cProfile, top functions)
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

from alphamed.data_preprocess import medmcqa

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCES = (
    REPO_ROOT.parent / "shared" / "data" / "medmcqa" / "RECONSTRUCTED_raw_format_dev.jsonl",
    REPO_ROOT / "examples" / "data" / "medmcqa" / "dev.json",
)
MEDMCQA_TRAIN_ROWS = 182_822
TARGET_SECONDS = 5.0


def build_train_file(source: Path, rows: int, path: Path) -> None:
    """``rows`` release-layout rows cycled from ``source``, each with a new id and a distinct question."""
    seeds = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    with open(path, "w", encoding="utf-8") as handle:
        for n in range(rows):
            row = seeds[n % len(seeds)]
            copy = n // len(seeds)
            handle.write(json.dumps({**row, "id": f"bench-{n:06d}", "question": f"{row['question']} [copy {copy}]"}))
            handle.write("\n")


def time_conversion(train_file: Path, out_dir: Path) -> tuple[float, float, int]:
    """Wall and CPU seconds of one full conversion (read + map + write), and the number of rows written.

    CPU time is printed too because the benchmark machine is shared: wall time grows with other people's load.
    """
    argv = ["--local_dataset_path", str(train_file), "--split", "train", "--local_save_dir", str(out_dir)]
    start, cpu_start = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(io.StringIO()):
        (report,) = medmcqa.convert(argv)
    return time.perf_counter() - start, time.process_time() - cpu_start, report.written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=MEDMCQA_TRAIN_ROWS, help="rows in the synthetic train file")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; the median is reported")
    parser.add_argument("--profile", action="store_true", help="profile one more run and print the top functions")
    args = parser.parse_args(argv)
    source = next(path for path in SOURCES if path.is_file())
    with tempfile.TemporaryDirectory(prefix="alphamed_convert_speed_") as tmp:
        train_file = Path(tmp) / "train.json"
        build_train_file(source, args.rows, train_file)
        print(f"input: {args.rows} rows ({train_file.stat().st_size / 1e6:.1f} MB) built from {source}")
        timings, cpu_timings = [], []
        for run in range(args.repeats):
            seconds, cpu_seconds, written = time_conversion(train_file, Path(tmp) / "out")
            timings.append(seconds)
            cpu_timings.append(cpu_seconds)
            print(f"run {run + 1}: {seconds:.2f} s wall, {cpu_seconds:.2f} s CPU, {written} rows written")
        median = statistics.median(timings)
        verdict = "meets" if median <= TARGET_SECONDS else "misses"
        print(
            f"medmcqa convert: {args.rows / median:,.0f} rows/s, {median:.2f} s wall median of {args.repeats} "
            f"(CPU {statistics.median(cpu_timings):.2f} s; {verdict} the {TARGET_SECONDS:.0f} s target)"
        )
        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(time_conversion, train_file, Path(tmp) / "out")
            pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
