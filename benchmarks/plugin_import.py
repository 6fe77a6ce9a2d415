"""What the alphamed veRL plugin adds to ``import verl``, and what registering eagerly would have cost.

Run by hand: ``python benchmarks/plugin_import.py [--repeats 7]``. Each figure is the median over fresh
interpreters of the wall time of the import (``time.perf_counter`` around it, in the child):

- ``import verl`` with ``VERL_USE_EXTERNAL_PLUGINS=auto`` (plugin loaded) and ``=none`` (no plugin);
- in a process that already imported verl with plugins off: veRL's entry-point scan (paid whenever plugins
  are on, with or without this package) and the plugin's ``ep.load()``, i.e. what it adds to every veRL process;
- veRL's reward-manager package on top of ``import verl``: what registering at plugin load would add instead.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

TIMED = "import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"
CASES = {
    "import verl (plugin on)": ("auto", "", "import verl"),
    "import verl (VERL_USE_EXTERNAL_PLUGINS=none)": ("none", "", "import verl"),
    "entry-point scan (veRL does it whenever plugins are on)": (
        "none",
        "import verl; from importlib.metadata import entry_points",
        "entry_points(group='verl.plugins')",
    ),
    "the alphamed plugin's ep.load() (what it adds)": (
        "none",
        "import verl; from importlib.metadata import entry_points; "
        "ep = next(ep for ep in entry_points(group='verl.plugins') if ep.name == 'alphamed')",
        "ep.load()",
    ),
    "veRL's reward-manager package (eager registration)": (
        "none",
        "import verl",
        "import verl.experimental.reward_loop.reward_manager",
    ),
}


def seconds(policy: str, setup: str, stmt: str) -> float:
    code = f"{setup}\n{TIMED.format(stmt=stmt)}"
    env = {**os.environ, "VERL_USE_EXTERNAL_PLUGINS": policy}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    for label, case in CASES.items():
        times = [seconds(*case) for _ in range(args.repeats)]
        print(f"{label:55s} median {statistics.median(times) * 1000:8.1f} ms  (min {min(times) * 1000:.1f})")


if __name__ == "__main__":
    main()
