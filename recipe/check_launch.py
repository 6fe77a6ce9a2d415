"""What a shell recipe hands to veRL: run it with a recording ``${LAUNCHER}``, then read and compose the argv as
``python -m verl.trainer.main_ppo`` does.

The script runs with bash (bash does all expansion; we parse no shell) in its own process group, under a time
limit: on timeout, and after a normal exit, the whole group is ended, so nothing the script started outlives the
check. The recording launcher ends the script at the launch, so what follows it (an evaluation of the trained
checkpoint, say) never runs during a check.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The function that records the launch: bash imports exported functions from ``BASH_FUNC_<name>%%``, so the
#: script's ``${LAUNCHER} "${args[@]}" "$@"`` writes the working directory and every word, NUL-separated, exactly
#: as bash built them, then ends the script.
CAPTURE_FUNCTION = "alphamed_check_capture"
CAPTURE_BODY = '() { printf \'%s\\0\' "$PWD" "$@" > "$ALPHAMED_CHECK_ARGV"; exit 0; }'

#: How to launch veRL, said in every FAIL about a script that does not.
LAUNCH_HINT = 'launch veRL as ${LAUNCHER} "${args[@]}" "$@"'

#: ``source FILE`` / ``. FILE`` at the start of a shell command.
SOURCE_LINE = re.compile(r"^\s*(?:source|\.)\s+(\S+)", re.MULTILINE)
#: A shell script named anywhere in a script (sourced, run with bash, exec'd).
SCRIPT_NAME = re.compile(r"([\w.-]+\.sh)\b")

#: ``main_ppo``'s ``@hydra.main(config_path="config", config_name="ppo_trainer")``; a test reads them back from it.
MAIN_CONFIG_PATH, MAIN_CONFIG_NAME = "config", "ppo_trainer"

#: Hydra's command-line options a recipe may use: where the primary config is, and an extra config folder.
CONFIG_OPTIONS = ("config_path", "config_name", "config_dir")


class RecipeError(Exception):
    """A setting veRL would reject (or silently ignore) on the GPUs; the message names the key or the flag."""


@dataclass
class Launch:
    """One recorded launch: where the script was, and what ``main_ppo``'s ``@hydra.main`` receives."""

    cwd: Path
    overrides: list[str]
    config_path: str | None = None
    config_name: str | None = None
    config_dir: str | None = None


def _files_it_runs(script: Path, text: str) -> list[Path | None]:
    """The scripts ``script`` sources or runs, found beside it by name; None stands for a sourced path we cannot
    resolve without running the script (a variable)."""
    found: list[Path | None] = [None for word in SOURCE_LINE.findall(text) if "$" in word.rsplit("/", 1)[-1]]
    for name in dict.fromkeys(SCRIPT_NAME.findall(text)):
        if (script.parent / name).is_file():
            found.append(script.parent / name)
    return found


def may_reach_launcher(script: Path, seen: set[Path] | None = None) -> bool:
    """False only when neither the script nor a script it sources or runs names ``LAUNCHER``: it cannot launch
    through it. A static look, so a script that never uses ``${LAUNCHER}`` (a whole pipeline, say) is refused
    before it runs."""
    seen = set() if seen is None else seen
    seen.add(script.resolve())
    text = script.read_bytes().decode("utf-8", errors="replace")
    if "LAUNCHER" in text:
        return True
    for other in _files_it_runs(script, text):
        if other is None or (other.resolve() not in seen and may_reach_launcher(other, seen)):
            return True
    return False


def _end_group(pid: int) -> None:
    """End every process in the script's group: politely, then for good a moment later."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.2)


def _last_line(output: bytes) -> str:
    """The script's last message, undecodable bytes shown replaced: the last non-empty line that is not bash's
    ``set -x`` trace, else the last trace line."""
    lines = [line.strip() for line in output.decode("utf-8", errors="replace").splitlines() if line.strip()]
    messages = [line for line in lines if not line.startswith("+")]
    return (messages or lines or ["(no output)"])[-1]


def _run_recording(script: Path, extra: list[str], timeout: float, argv_file: Path, log: Path) -> int | None:
    """Run the script with the recording launcher; its exit status, or None when it ran out of time."""
    env = {
        **os.environ,
        "ALPHAMED_CHECK": "1",
        "ALPHAMED_CHECK_ARGV": str(argv_file),
        "LAUNCHER": CAPTURE_FUNCTION,
        f"BASH_FUNC_{CAPTURE_FUNCTION}%%": CAPTURE_BODY,
        # The script's own python steps (the data gate) must run in this interpreter, where alphamed lives.
        "PYTHON": sys.executable,
    }
    with log.open("wb") as out:
        # Output goes to a file, not a pipe: a background child holding a pipe open would block the read.
        proc = subprocess.Popen(
            ["bash", str(script), *extra],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        finally:
            _end_group(proc.pid)
            proc.wait()


def record_launch(script: Path, extra: list[str], timeout: float) -> list[str]:
    """The script's working directory at the launch, then the words it passed to ``${LAUNCHER}``."""
    if not may_reach_launcher(script):
        raise RecipeError(
            f"the script never refers to ${{LAUNCHER}} (nor does any script it sources or runs); {LAUNCH_HINT}"
        )
    with tempfile.TemporaryDirectory(prefix="alphamed_check_") as tmp:
        argv_file, log = Path(tmp) / "argv", Path(tmp) / "log"
        status = _run_recording(script, extra, timeout, argv_file, log)
        if argv_file.exists():
            words = argv_file.read_bytes().split(b"\0")[:-1]
            return [w.decode("utf-8", errors="replace") for w in words]
        if status is None:
            raise RecipeError(
                f"the script did not reach ${{LAUNCHER}} within {timeout:g} s and was stopped with every process "
                "it started (raise --timeout if its pre-launch steps are slow); last output: "
                f"{_last_line(log.read_bytes())}"
            )
        if status != 0:
            raise RecipeError(
                f"the script exited with status {status} before reaching ${{LAUNCHER}}; last output: "
                f"{_last_line(log.read_bytes())}"
            )
        raise RecipeError(f"the script finished without calling ${{LAUNCHER}}; {LAUNCH_HINT}")


def parse_launch(words: list[str]) -> Launch:
    """Split the recorded words as ``main_ppo``'s ``@hydra.main`` does, with Hydra's own argument parser."""
    from hydra._internal.utils import get_args_parser

    cwd, argv = Path(words[0]), words[1:]
    parser = get_args_parser()
    defaults = vars(parser.parse_args([]))
    try:
        args = vars(parser.parse_args(argv))
    except SystemExit as exc:  # argparse reports on stderr and exits; the FAIL line says it instead
        flags = " ".join(w for w in argv if w.startswith("-"))
        raise RecipeError(f"Hydra's command line parser rejects the flags {flags!r}") from exc
    for option, value in args.items():
        if option not in (*CONFIG_OPTIONS, "overrides") and value != defaults[option]:
            flag = "--" + option.replace("_", "-")
            raise RecipeError(
                f"{flag}: not a single training run; a recipe may pass Hydra only key=value overrides, "
                "--config-path, --config-name and --config-dir"
            )
    return Launch(cwd=cwd, overrides=args["overrides"], **{o: args[o] for o in CONFIG_OPTIONS})


def main_ppo_file() -> str:
    """``verl/trainer/main_ppo.py``, located without importing it (it imports Ray)."""
    return importlib.util.find_spec("verl.trainer.main_ppo").origin


def primary_config_dir(config_path: str | None) -> str:
    """Where ``main_ppo`` looks for its primary config, by Hydra's own rule.

    Run as ``python -m verl.trainer.main_ppo``, the task function's module is ``__main__``, so Hydra anchors a
    relative ``--config-path`` at the folder of ``main_ppo.py`` -- not the script's folder, not the working
    directory. An absolute path or ``pkg://`` is taken as is.
    """
    from hydra._internal.utils import compute_search_path_dir

    return compute_search_path_dir(main_ppo_file(), None, config_path or MAIN_CONFIG_PATH)


def _search_path(launch: Launch) -> Any:
    """Hydra's search path for this launch: the primary config folder, then ``--config-dir`` in front, as
    ``hydra.main`` builds it (``--config-dir`` is relative to the working directory at launch)."""
    from hydra._internal.utils import create_config_search_path
    from hydra.core.config_search_path import SearchPathQuery

    primary = primary_config_dir(launch.config_path)
    if not primary.startswith("pkg://") and not os.path.isdir(primary):
        anchor = os.path.dirname(main_ppo_file())
        raise RecipeError(
            f"--config-path: {launch.config_path!r} resolves to {primary}, which does not exist: Hydra resolves a "
            f"relative --config-path against main_ppo.py's folder ({anchor}), not the script's folder or the "
            'working directory; pass an absolute path, e.g. "$(cd "$(dirname "$0")" && pwd)/config"'
        )
    search_path = create_config_search_path(primary)
    if launch.config_dir:
        extra = (launch.cwd / launch.config_dir).resolve()
        if not extra.is_dir():
            raise RecipeError(f"--config-dir: {extra} does not exist")
        search_path.prepend(provider="command-line", path=f"file://{extra}", anchor=SearchPathQuery(provider="schema"))
    return search_path


def _unknown_key(exc: Exception) -> RecipeError | None:
    """An override of a key veRL's config lacks, named, with the close spellings among its siblings."""
    import difflib

    cause = exc.__cause__
    key, parent, leaf = (getattr(cause, name, None) for name in ("full_key", "parent_node", "key"))
    if not key:
        return None
    close = []
    if parent is not None and isinstance(leaf, str) and hasattr(parent, "keys"):
        close = difflib.get_close_matches(leaf, [str(k) for k in parent.keys()], n=3)
    suggestion = f" (did you mean {', '.join(close)}?)" if close else ""
    return RecipeError(f"{key}: unknown key in veRL's config{suggestion}")


def compose_launch(launch: Launch) -> Any:
    """The config ``main_ppo`` receives: Hydra's own composition of the launch, in the launch's working directory
    (relative ``file://`` entries of ``hydra.searchpath`` are relative to it), without the ``hydra`` node."""
    from hydra._internal.hydra import Hydra
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException, MissingConfigException
    from hydra.types import RunMode
    from omegaconf import open_dict

    name = launch.config_name or MAIN_CONFIG_NAME
    search_path = _search_path(launch)
    GlobalHydra.instance().clear()
    chdir = contextlib.chdir(launch.cwd) if launch.cwd.is_dir() else contextlib.nullcontext()
    try:
        with chdir:
            hydra = Hydra.create_main_hydra2(task_name="main_ppo", config_search_path=search_path)
            cfg = hydra.compose_config(name, launch.overrides, run_mode=RunMode.RUN, with_log_configuration=False)
    except MissingConfigException as exc:
        raise RecipeError(f"--config-name: Hydra cannot load {name!r}: {exc}") from exc
    except HydraException as exc:
        raise _unknown_key(exc) or RecipeError(f"Hydra rejects the launch: {exc}") from exc
    finally:
        GlobalHydra.instance().clear()
    with open_dict(cfg):
        cfg.pop("hydra", None)
    return cfg


@functools.cache
def packaged_defaults(model_engine: str) -> Any:
    """veRL's packaged config for one engine, untouched: what each key's value type is meant to be."""
    return compose_launch(Launch(cwd=Path.cwd(), overrides=[f"model_engine={model_engine}"]))
