"""veRL's own verdict on recorded launches: ``main_ppo`` run exactly as ``python -m verl.trainer.main_ppo`` runs it
(its ``@hydra.main`` composition, ``auto_set_device`` and ``validate_config``), stopped where Ray would start.

Reads a JSON list of ``[cwd, argv]`` on stdin; prints a JSON list of verdicts (true: veRL accepts the config).
Run as a separate process: Hydra's main reads ``sys.argv`` and exits on errors.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import runpy
import sys

import ray


class Launched(BaseException):
    """Raised where main_ppo would start Ray: past every check veRL makes before the GPUs. A BaseException, so
    Hydra's error reporting (which catches Exception) lets it through."""


def _reached_ray() -> bool:
    raise Launched


def verdict(cwd: str, argv: list[str]) -> bool:
    """True when veRL's main_ppo accepts the launch."""
    os.chdir(cwd)
    sys.argv = ["main_ppo.py", *argv]
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            runpy.run_module("verl.trainer.main_ppo", run_name="__main__")
    except Launched:
        return True
    except SystemExit:
        return False
    return False


def main() -> None:
    ray.is_initialized = _reached_ray
    cases = json.load(sys.stdin)
    print(json.dumps([verdict(cwd, argv) for cwd, argv in cases]))


if __name__ == "__main__":
    main()
