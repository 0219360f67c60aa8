"""Plain fine-tuning (`sft`, and `filter` on the filtered corpus): L_task only."""

from __future__ import annotations

from attrctl.objectives.common import next_token_log_probs, nll


class SFT:
    def __init__(self, policy):
        self.policy = policy

    def __call__(self, batch):
        logp, targets, mask = next_token_log_probs(self.policy, batch)
        loss = nll(logp, targets, mask)
        return loss, {"loss": loss.item(), "task": loss.item()}
