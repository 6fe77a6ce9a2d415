"""The shared parser factory and the one meaning of --max_samples."""

from __future__ import annotations

import pytest

from alphamed.data_preprocess.cli_args import (
    add_max_samples_arg,
    make_parser,
    sample_in_order,
    sample_indices,
)


def demo_parser():
    parser = make_parser("alphamed demo", "Line one.\n  indented line two.")
    add_max_samples_arg(parser)
    parser.add_argument("--seed", type=int, default=0, help="seed")
    parser.add_argument("--batch_size", type=int, default=32, help="questions per batch")
    parser.add_argument("--benchmarks", nargs="+", default=["medqa", "gpqa_med"], help="which")
    parser.add_argument("--model", default=None, help="a model")
    parser.add_argument("--strict", action="store_true", help="fail on a bad row")
    parser.add_argument("--device", default="auto", help="where (default: auto picks cuda, else cpu)")
    return parser


def test_no_prefix_matching_and_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        demo_parser().parse_args(["--max_sample", "5"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments: --max_sample 5 (did you mean --max_samples?)" in err
    assert demo_parser().parse_args(["--max_samples", "5"]).max_samples == 5


def test_help_shows_meaningful_defaults_once() -> None:
    text = " ".join(demo_parser().format_help().split())
    assert "questions per batch (default: 32)" in text
    assert "which (default: medqa gpqa_med)" in text
    assert "seed (default: 0)" in text
    assert "default: None" not in text and "default: False" not in text
    assert text.count("default: auto") == 1  # a help that states its default is not repeated
    assert "in file order, drawn with --seed (default: all)" in text
    assert "Line one.\n  indented line two." in demo_parser().format_help()  # the description keeps its layout


@pytest.mark.parametrize("bad", ["0", "-3", "five"])
def test_max_samples_must_be_a_positive_whole_number(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        demo_parser().parse_args(["--max_samples", bad])
    assert "--max_samples" in capsys.readouterr().err


def test_sample_is_seeded_spread_and_in_file_order() -> None:
    items = [f"q{i}" for i in range(1000)]
    sample = sample_in_order(items, 50, seed=3)
    assert len(sample) == 50 and sample == sorted(sample, key=items.index)
    assert sample == sample_in_order(items, 50, seed=3) != sample_in_order(items, 50, seed=4)
    assert sample != items[:50] and items.index(sample[-1]) > 500  # a sample of the file, not its head
    # the positions depend only on (length, N, seed): any command drawing from a file of this length agrees
    assert sample_indices(1000, 50, 3) == [items.index(q) for q in sample]


def test_sample_keeps_everything_when_n_covers_the_file() -> None:
    items = list(range(7))
    assert sample_in_order(items, None, seed=0) == items
    assert sample_in_order(items, 7, seed=0) == items
    assert sample_in_order(items, 100, seed=0) == items
    with pytest.raises(ValueError, match=">= 1"):
        sample_indices(7, 0, seed=0)
