"""DPO: the preference pairs of annotated samples, a short trl DPO run on a tiny model, and the config checks."""

from __future__ import annotations

import math

import pytest

from attrctl.config import Config, ConfigError, parse
from attrctl.dpo.pairs import pairs


def sample(prompt_id: str, text: str, label: int) -> dict:
    return {"prompt_id": prompt_id, "prompt": f"prompt {prompt_id}", "text": text, "label": label}


ROWS = [
    sample("a", "kind words", 0),
    sample("a", "rude words", 1),
    sample("a", "calm words", 0),
    sample("b", "only clean", 0),  # no flagged sample: no pair
    sample("b", "still clean", 0),
    sample("c", "only flagged", 1),  # no clean sample: no pair
    sample("d", "nice", 0),
    sample("d", "nasty", 1),
    sample("d", "mean", 1),
    sample("d", "gentle", 0),
    sample("d", "   ", 0),  # an empty continuation is never chosen
]


def test_pairs_prefer_a_clean_sample_to_a_flagged_one_of_the_same_prompt():
    found = pairs(ROWS, max_pairs_per_prompt=1, seed=0)
    assert [p["prompt_id"] for p in found] == ["a", "d"]
    labels = {(r["prompt_id"], r["text"]): r["label"] for r in ROWS}
    for p in found:
        assert p["prompt"] == f"prompt {p['prompt_id']}"
        assert labels[(p["prompt_id"], p["chosen"])] == 0 and labels[(p["prompt_id"], p["rejected"])] == 1


def test_pairs_per_prompt_use_each_sample_once():
    found = pairs(ROWS, max_pairs_per_prompt=5, seed=0)
    d = [p for p in found if p["prompt_id"] == "d"]
    assert len(d) == 2  # two clean, two flagged (the blank one left out)
    assert {p["chosen"] for p in d} == {"nice", "gentle"} and {p["rejected"] for p in d} == {"nasty", "mean"}
    assert len([p for p in found if p["prompt_id"] == "a"]) == 1  # one flagged sample: one pair


def test_pairs_are_deterministic_under_a_seed_whatever_the_rows_order():
    first = pairs(ROWS, 1, seed=3)
    assert pairs(list(reversed(ROWS)), 1, seed=3) == first
    draws = {tuple(p["chosen"] for p in pairs(ROWS, 1, seed=s)) for s in range(20)}
    assert len(draws) > 1  # the seed picks which clean sample is chosen


def test_pairs_of_samples_without_both_kinds_are_empty():
    assert pairs([sample("x", "a", 0), sample("y", "b", 1)], 3, seed=0) == []


def test_two_dpo_steps_move_the_weights(tiny_model_dir, tmp_path):
    import torch

    from attrctl import models
    from attrctl.config import RuntimeConfig
    from attrctl.dpo.train import train
    from attrctl.runtime import Precision

    cfg = parse(Config().model_dump(mode="json") | {"dpo": {"beta": 0.1, "lr": 1e-2, "max_steps": 2, "batch_size": 2}})
    policy, tokenizer = models.load(tiny_model_dir, trainable=True)
    reference, _ = models.load(tiny_model_dir)
    before = {k: v.clone() for k, v in policy.state_dict().items()}
    found = pairs(
        [sample(str(i), text, label) for i in range(4) for text, label in (("the cat sat", 0), ("the dog bit", 1))],
        1,
        seed=0,
    )
    precision = Precision(RuntimeConfig(device="cpu", threads=0), torch.device("cpu"))
    seen = []
    (tmp_path / "ckpt" / "checkpoint-1").mkdir(parents=True)  # a killed run's: trl's resume is not reproducible
    trained, metrics = train(policy, reference, tokenizer, found, cfg, tmp_path / "ckpt", precision, seen.append)
    assert metrics["train_steps"] == 2 and len(metrics["history"]) == 2 and len(seen) == 2
    assert not list((tmp_path / "ckpt").glob("checkpoint-*")), "started afresh, and saved no checkpoint"
    for key in ("train_seconds", "train_tokens", "train_tokens_per_s", "final_loss", "reward_accuracy"):
        assert math.isfinite(metrics[key]), key
    assert metrics["train_tokens"] > 0
    after = trained.state_dict()
    assert any(not torch.equal(before[k], after[k].to(before[k].device)) for k in before)
    frozen = models.load(tiny_model_dir)[0].state_dict()
    assert all(torch.equal(frozen[k], v) for k, v in reference.state_dict().items())  # the reference stays p0


@pytest.mark.parametrize(
    "section, key",
    [({"reference": "sft"}, "dpo.reference = 'sft'"), ({"beta": 0.0}, "dpo.beta = 0.0"), ({"beta": -1.0}, "dpo.beta")],
)
def test_bad_dpo_settings_name_their_key(section, key):
    with pytest.raises(ConfigError) as err:
        parse(Config().model_dump(mode="json") | {"dpo": section})
    assert key in str(err.value)


def test_the_efficiency_table_shows_dpo_as_a_single_run():
    from attrctl.evaluation.report import Results
    from attrctl.finetune.report import efficiency_rows

    cfg = parse(Config().model_dump(mode="json") | {"models": ["base", "sft", "dpo"]})
    res = Results(
        train={"dpo": {"train_seconds": 12.0, "train_tokens_per_s": 50.0}, "sft": {"train_seconds": 3.0}},
        benchmarks={"dpo_train": {"s": 20.0, "max_rss": 900.0}, "finetune/sft": {"s": 5.0}},
    )
    rows = {r["job"]: r for r in efficiency_rows(cfg, res)}
    assert set(rows) == {"finetune sft", "finetune dpo"}
    dpo = rows["finetune dpo"]
    assert (dpo["seconds"], dpo["tokens_per_s"], dpo["job_seconds"], dpo["peak_rss_mb"]) == (12.0, 50.0, 20.0, 900.0)
    assert rows["finetune sft"]["job_seconds"] == 5.0
