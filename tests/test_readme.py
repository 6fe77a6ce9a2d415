"""README's commands are real: the test command is what CI runs, every script it names exists, and every
``alphamed`` / converter command uses a subcommand and flags that the code accepts."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from alphamed.data_preprocess import CONVERTERS, resolve_dataset
from alphamed.recipe import cli
from tests.conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
ENV_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=\S*$")


def bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def commands(text: str) -> list[list[str]]:
    """Every command line of README's bash blocks and inline code, continuations joined, env assignments dropped."""
    lines = []
    for block in bash_blocks(text):
        lines += block.replace("\\\n", " ").splitlines()
    lines += re.findall(r"`((?:alphamed|python data_preprocess/)[^`]*)`", text)
    found = []
    for line in lines:
        for part in re.split(r"&&|;", line.split("#", 1)[0]):
            words = shlex.split(part)
            while words and ENV_ASSIGNMENT.match(words[0]):
                words = words[1:]
            if words and words[0] not in ("for", "do", "done"):
                found.append(words)
    return found


def help_text(argv: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        cli.main([*argv, "--help"])
    return out.getvalue()


def flags(words: list[str]) -> set[str]:
    return {word.split("=", 1)[0] for word in words if word.startswith("--") and word != "--"}


def test_quick_start_test_command_is_what_ci_runs() -> None:
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = [block.strip() for block in bash_blocks(quick_start)]
    assert len(blocks[0].splitlines()) == len(blocks[1].splitlines()) == 1, "the quick start opens with two commands"
    assert blocks[1] == ci
    assert "examples/quickstart.sh" in blocks[0] and blocks[0].startswith("bash scripts/setup_cpu.sh")


def test_every_script_and_file_readme_names_exists() -> None:
    folders = "examples|scripts|benchmarks|data_preprocess|recipe|tests"
    named = set(re.findall(rf"\b((?:{folders})/[\w./-]+\.(?:sh|py|md))", README))
    named |= set(re.findall(r"\]\(((?:recipe|examples)/[^)#]+)", README))
    assert named, "README names no files?"
    missing = sorted(path for path in named if "<" not in path and not (REPO_ROOT / path).exists())
    assert not missing, f"README names files that do not exist: {missing}"


def command_parser_argv(words: list[str]) -> list[str] | None:
    """The ``alphamed`` argv whose --help lists the flags ``words`` may use; None for other commands and patterns."""
    if any("<" in word for word in words[:3]):
        return None  # a pattern such as `alphamed prepare <name>`
    if words[0] == "alphamed" and len(words) > 1:
        if words[1] == "--version":
            return None
        assert words[1] in cli.SUBCOMMANDS, f"README uses unknown `alphamed {words[1]}`"
        if words[1] == "prepare":
            return words[1:3] if len(words) > 2 else None  # a bare mention of `alphamed prepare`
        return words[1:2]
    if words[0] == "python" and words[1].startswith("data_preprocess/"):
        return ["prepare", Path(words[1]).stem]
    return None


def test_every_alphamed_command_uses_real_subcommands_and_flags() -> None:
    checked = 0
    for words in commands(README):
        argv = command_parser_argv(words)
        if argv is None:
            continue
        if argv[0] == "prepare":
            assert resolve_dataset(argv[1], [])[0] in CONVERTERS.values(), f"`{shlex.join(words)}`: {argv[1]}?"
        accepted = help_text(argv)
        unknown = [flag for flag in flags(words) if not re.search(rf"{re.escape(flag)}(?![\w-])", accepted)]
        assert not unknown, f"`{shlex.join(words)}`: flags not accepted by `alphamed {' '.join(argv)}`: {unknown}"
        checked += 1
    assert checked >= 10


def test_the_venv_is_activated_before_any_alphamed_command() -> None:
    """A newcomer copies README top to bottom: `alphamed` only exists once .venv is active."""
    lines = [line.strip() for block in bash_blocks(README) for line in block.splitlines()]
    first_alphamed = next(i for i, line in enumerate(lines) if line.startswith("alphamed "))
    assert "source .venv/bin/activate" in lines[:first_alphamed]
    assert README.index("source .venv/bin/activate") < README.index("## On a GPU cluster")
