"""The L3M objective on one batch of the corpus, step by step (docs/methods.md, L3M):

    L(θ) = L_task(θ) + Σ_j B_{μ,μ²}(ĉ_j),   ĉ_j = (mean of g_j over the policy's own samples) − b_j

with the barrier's gradient B′(ĉ_j) · ∇ĉ_j and ∇ĉ_j by the score function: mean_i (g_ij − ḡ_j(x_i)) ∇ log pθ(y_i|x_i),
ḡ_j(x) the mean over the samples of the same prompt (a baseline that leaves the gradient unbiased). The `mm`
baseline replaces B′(ĉ_j) by a fixed multiplier λ_j. A length constraint is measured relative to its bound
(g = words / b, so ĉ = mean/b − 1), so one μ schedule serves constraints of any scale.

The expectation is over the pipeline's train prompts, the distribution the held-out eval prompts come from, not
over the corpus batch's prompts: a third of those ask for a one-word classification answer, so a model held at
5 words on them wrote 6.15 on held-out prompts (at fb4626d). The barrier is written for the bound tightened by
`l3m.margin` (b·(1 − margin) for ≤): as μ → 0 the iterate ends on the bound it trains against, where a held-out
mean lands above the bound half the time; the margin is about the held-out interval's half-width.

B′ is evaluated at a running estimate of ĉ_j (an exponential moving average of the mini-batch estimates,
`l3m.smoothing`); the gradient's direction is this batch's. From 16 samples a step (fb4626d; 32 now) the
mini-batch ĉ of a length swung by ±0.5: once μ is small a violating batch lands on the barrier's linear part,
slope 1/μ (333 at μ = 0.003), and the multiplier spikes (seen in l3m_multipliers.png). The running estimate is
saved with the training checkpoint. L_task is trained as sft is (attrctl.l3m.stages.l3m_train), so a met
constraint costs what the table's task perplexity against sft's says.

The response whose length is bounded is its first sentence (attrctl.l3m.constraints).
"""

from __future__ import annotations

import random

import torch
from trl.trainer.utils import selective_log_softmax

from attrctl.batch import collate, next_token_log_probs, nll
from attrctl.config import SampleConfig
from attrctl.l3m.barrier import barrier, barrier_slope, mu_at
from attrctl.l3m.constraints import measure
from attrctl.l3m.method import Constraint, L3MConfig
from attrctl.sampling import continuations


def sequence_log_probs(policy, prompts: list[list[int]], samples: list[list[int]], pad_id: int) -> torch.Tensor:
    """log pθ(y | x) of each (prompt, continuation) pair, with gradient (0 for an empty continuation)."""
    batch = collate([{"prompt_ids": p, "target_ids": y} for p, y in zip(prompts, samples, strict=True)], pad_id)
    device = next(policy.parameters()).device
    ids, mask = batch["input_ids"].to(device), batch["attention_mask"].to(device)
    logits = policy(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
    token_logp = selective_log_softmax(logits, ids[:, 1:])  # log pθ(t_{j+1} | t<=j)
    return (token_logp * batch["target_mask"][:, 1:].to(device)).sum(-1)


class L3M:
    """L_task plus the constraints' barrier terms; `fixed` ({metric: λ}) makes it the `mm` baseline. `policy`
    (unwrapped) samples `prompts` (token ids: the train prompts); the model the loop passes in carries the
    gradients."""

    def __init__(
        self,
        policy,
        tokenizer,
        oracle,
        prompts: list[list[int]],
        constraints: list[Constraint],
        cfg: L3MConfig,
        top_p: float,
        seed: int,
        fixed: dict[str, float] | None = None,
    ):
        self.policy, self.tokenizer, self.oracle, self.prompts = policy, tokenizer, oracle, prompts
        self.constraints, self.cfg, self.seed, self.fixed = constraints, cfg, seed, fixed
        self.sampling = SampleConfig(k=cfg.generations, max_new_tokens=cfg.max_new_tokens, top_p=top_p)
        self.running: dict[str, float] = {}  # the running estimate of ĉ_j, by j (a set may bound a metric twice)
        metrics = [c.metric for c in constraints]
        # the logs' prefix of each constraint: its metric, and its sense where the set bounds the metric twice
        self.keys = [c.metric if metrics.count(c.metric) == 1 else f"{c.metric}_{c.sense}" for c in constraints]

    def state_dict(self) -> dict[str, dict[str, float]]:
        """The running estimates (the training loop checkpoints them with the model)."""
        return {"running": dict(self.running)}

    def load_state_dict(self, state: dict[str, dict[str, float]]) -> None:
        self.running = dict(state["running"])

    def __call__(self, model, batch):
        step = int(batch["step"])  # the loop's global step and step count: μ's schedule
        mu = mu_at(step, int(batch["total_steps"]), self.cfg.mu_start, self.cfg.mu_end)
        # 1) L_task: the likelihood of the corpus.
        logp, targets, mask = next_token_log_probs(model, batch)
        task = nll(logp, targets, mask)
        # 2) The policy's own samples (no gradient) of as many train prompts as the batch holds examples, both
        #    drawn by step (resumable).
        draw = self.seed * 100_003 + step
        prompts = random.Random(draw).sample(self.prompts, min(len(batch["input_ids"]), len(self.prompts)))
        generator = torch.Generator(device=self.policy.device).manual_seed(draw)
        samples = continuations(self.policy, self.tokenizer, prompts, self.sampling, generator)
        repeated = [p for p in prompts for _ in range(self.cfg.generations)]
        texts = self.tokenizer.batch_decode(samples, skip_special_tokens=True)
        # 3) log pθ(y | x) of each sample: the score function.
        seq_logp = sequence_log_probs(model, repeated, samples, self.tokenizer.pad_token_id)
        logs = {"task": task.item(), "mu": mu}
        pushes = []  # each constraint's multiplier × its score-function surrogate
        for j, (constraint, key) in enumerate(zip(self.constraints, self.keys, strict=True)):
            name = constraint.metric
            sign = 1.0 if constraint.sense == "le" else -1.0
            g = measure(constraint, texts, self.oracle).to(seq_logp.device)
            # 4) ĉ_j: the mini-batch estimate of the constraint (≤ 0 when satisfied) against the bound tightened
            #    by the margin, folded into its running mean.
            bound = (1.0 if name == "length" else constraint.bound) * (1.0 - sign * self.cfg.margin)
            c_batch = sign * (float(g.mean()) - bound)
            past = self.running.get(str(j), c_batch)
            c_hat = self.running[str(j)] = self.cfg.smoothing * past + (1.0 - self.cfg.smoothing) * c_batch
            # 5) The multiplier: B′(ĉ_j) for L3M, the fixed λ_j for mm.
            multiplier = self.fixed[name] if self.fixed is not None else barrier_slope(c_hat, mu)
            # 6) Score function with a per-prompt baseline: ∇ĉ_j ≈ mean (g − ḡ(x)) ∇ log pθ(y|x).
            grouped = g.view(-1, self.cfg.generations)
            advantage = sign * (grouped - grouped.mean(1, keepdim=True)).view(-1)
            pushes.append(multiplier * (advantage * seq_logp).mean())
            logs.update(
                {
                    f"{key}_mean": float(g.mean()) * (constraint.bound if name == "length" else 1.0),
                    f"{key}_c_batch": c_batch,
                    f"{key}_c_hat": c_hat,
                    f"{key}_multiplier": multiplier,
                    f"{key}_barrier": barrier(c_hat, mu) if self.fixed is None else multiplier * c_hat,
                }
            )
        # 7) The constraints' share of the step: their gradient at most l3m.gradient_cap × the task's norm.
        loss, logs["constraint_scale"] = capped(task, sum(pushes), model, self.cfg.gradient_cap)
        logs["loss"] = loss.item()
        return loss, logs


def capped(task: torch.Tensor, push: torch.Tensor, model, cap: float | None) -> tuple[torch.Tensor, float]:
    """(task + s·push with its gradient, s): s = min(1, cap·‖∇task‖ / ‖∇push‖), 1 when cap is None.

    Why: the score-function estimate of a constraint's gradient is large (default profile, 32 samples: norm ~40
    at multiplier 1 against the task's ~10) and the loop clips each step to max_grad_norm, so a violated
    constraint at multiplier 1/μ took nearly all of each step from the task until it was met, and L3M's task
    loss trailed sft's (docs/methods.md, L3M). Both gradients are taken here; the returned loss carries their
    combination through a linear surrogate Σ_p ⟨p, g_p⟩, so the loop's backward is not a second pass."""
    if cap is None:
        return task + push, 1.0
    params = [p for p in model.parameters() if p.requires_grad]
    grads = [torch.autograd.grad(term, params, materialize_grads=True) for term in (task, push)]
    norm_task, norm_push = (float(torch.nn.utils.get_total_norm(gs)) for gs in grads)
    scale = min(1.0, cap * norm_task / norm_push) if norm_push > 0 else 1.0
    surrogate = sum((p * (gt + scale * gp)).sum() for p, gt, gp in zip(params, *grads, strict=True))
    value = task.detach() + scale * push.detach()
    return surrogate - surrogate.detach() + value, scale
