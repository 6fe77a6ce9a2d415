"""The smoke test's reward: AlphaMed's ``compute_score``, plus a marker line proving veRL really called it.

veRL runs the reward inside Ray workers, so a print is easy to miss; a file the driver script checks afterwards
is not (the pattern of veRL's own ``tests/special_e2e/ppo_trainer/run_function_reward.sh``).
"""

from __future__ import annotations

import os
from typing import Any

from alphamed.reward_score import compute_score


def compute_score_with_marker(
    data_source: str,
    solution_str: str,
    ground_truth: str,
    extra_info: dict | None = None,
    *,
    marker_path: str,
    **kw: Any,
) -> dict:
    """Score as the real recipe does, then append ``<data_source> <score>`` to ``marker_path``."""
    result = compute_score(data_source, solution_str, ground_truth, extra_info, **kw)
    # One write per call with O_APPEND: lines from concurrent reward workers do not interleave.
    fd = os.open(marker_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, f"{data_source} {result['score']}\n".encode())
    finally:
        os.close(fd)
    return result
