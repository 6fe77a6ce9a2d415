"""Answer extraction and the rule-based rewards veRL calls (``reward.custom_reward_function.path=
pkg://alphamed.reward_score``, ``.name=compute_score`` or ``compute_score_med_rlvr``)."""

from alphamed.reward_score.extract import extract_answer
from alphamed.reward_score.scoring import compute_score, compute_score_med_rlvr

__all__ = ["compute_score", "compute_score_med_rlvr", "extract_answer"]
