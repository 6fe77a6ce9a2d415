"""Answer extraction and the rule-based rewards veRL calls (``reward.custom_reward_function.path=
pkg://alphamed.reward_score``, ``.name=compute_score`` or ``compute_score_med_rlvr``).

The veRL plugin (``verl_plugin``, loaded by ``import verl``, never from here) registers ``verl_manager``'s
``alphamed`` reward manager, which applies these per row of a mixed-domain batch."""

from alphamed.reward_score.extract import extract_answer
from alphamed.reward_score.scoring import compute_score, compute_score_med_rlvr

__all__ = ["compute_score", "compute_score_med_rlvr", "extract_answer"]
