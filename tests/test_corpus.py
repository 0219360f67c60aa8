"""The fine-tuning corpus: ToxiGen statements after group prompts, domains, classification, the filter baseline;
and the ToxiGen split the oracle and the corpus share."""

from __future__ import annotations

import random

from conftest import REPO

from attrctl import toxigen
from attrctl.finetune.corpus import CLASSIFY, TEMPLATES, build, split_heldout, statement_examples, unflagged
from attrctl.finetune.method import CorpusConfig
from attrctl.pipeline.paths import TOXIGEN_STATEMENTS


def samples(tokenizer):
    out = []
    for i in range(40):
        subset = "challenging" if i % 2 else "neutral"
        toxic = int(i % 4 == 1)
        text = f" you stupid idiot number {i}" if toxic else f" went for a walk number {i}"
        out.append(
            {
                "prompt_id": f"p{i}",
                "subset": subset,
                "prompt": "Some prompt",
                "text": text,
                "prompt_ids": [1, 2],
                "token_ids": tokenizer(text, add_special_tokens=False).input_ids,
                "label": toxic,
            }
        )
    return out


STATEMENTS = [
    {
        "id": f"s{i}",
        "text": f"statement number {i} about them",
        "group": "immigrant",
        "label": int(i < 6),
        "flagged": int(i < 5),
    }
    for i in range(12)
]


def test_corpus_parts_and_domains(tokenizer):
    cfg = CorpusConfig(constraint_hateful=4, constraint_neutral=3, general=6, classification_per_class=3)
    examples = build(STATEMENTS, samples(tokenizer), cfg, tokenizer, seed=0)
    kinds = [(e["domain"], e["kind"]) for e in examples]
    assert kinds.count(("constraint", "continuation")) == 7
    assert kinds.count(("general", "continuation")) == 6
    cls = [e for e in examples if e["kind"] == "classification"]
    assert sorted(e["target"] for e in cls) == [" no"] * 3 + [" yes"] * 3
    assert all(e["prompt"].startswith("Text: ") and e["prompt"].endswith("Answer:") for e in cls)
    assert CLASSIFY.format(text="x") == "Text: x\nIs this text toxic?\nAnswer:"  # the lm-eval task's format
    statements = [e for e in examples if e["domain"] == "constraint" and e["kind"] == "continuation"]
    prefixes = tuple(t.split("{group}")[0] for t in TEMPLATES)
    assert all(e["prompt"].startswith(prefixes) and e["target"].startswith(" statement number") for e in statements)
    general = [e for e in examples if e["domain"] == "general"]
    assert all("walk" in e["target"] for e in general)  # neutral prompts' continuations
    assert build(STATEMENTS, samples(tokenizer), cfg, tokenizer, seed=0) == examples


def test_heldout_task_set_is_a_share_of_the_continuations_plus_the_unseen_statements(tokenizer):
    cfg = CorpusConfig(constraint_hateful=4, constraint_neutral=3, general=6, classification_per_class=3)
    examples = build(STATEMENTS[:8], samples(tokenizer), cfg, tokenizer, seed=0)  # 4 + 2 statements, 6 general
    unseen = statement_examples(STATEMENTS[8:], tokenizer, random.Random(2))
    assert [e["target"] for e in unseen] == [f" statement number {i} about them" for i in range(8, 12)]
    train, heldout = split_heldout(examples, unseen, 0.25, seed=0)
    assert len(heldout) == 3 + 4 and heldout[3:] == unseen  # a quarter of the 12 continuations, then the unseen
    assert all(e["kind"] == "continuation" for e in heldout)
    assert len(train) == len(examples) - 3
    assert not {(e["prompt"], e["target"]) for e in train} & {(e["prompt"], e["target"]) for e in heldout}
    assert split_heldout(examples, unseen, 0.25, seed=0) == (train, heldout)


def test_filter_drops_what_the_oracle_flags(tokenizer):
    examples = build(STATEMENTS, samples(tokenizer), CorpusConfig(), tokenizer, seed=0)
    kept = unflagged(examples)
    assert kept and not any(e["flagged"] for e in kept)
    assert len(examples) - len(kept) == sum(e["flagged"] for e in examples) > 0


def test_toxigen_halves_are_disjoint_stratified_and_seeded():
    statements = toxigen.load(REPO / TOXIGEN_STATEMENTS)
    assert len(statements) == 236 and sum(s["label"] for s in statements) == 136
    oracle, corpus = toxigen.split(statements, seed=0)
    assert {s["id"] for s in oracle}.isdisjoint(s["id"] for s in corpus)
    assert len(oracle) + len(corpus) == 236 and abs(len(oracle) - len(corpus)) <= 16
    for group in toxigen.GROUP_NAMES:
        for label in (0, 1):
            a = sum(s["group"] == group and s["label"] == label for s in oracle)
            b = sum(s["group"] == group and s["label"] == label for s in corpus)
            assert abs(a - b) <= 1, (group, label)
    assert toxigen.split(statements, seed=0) == (oracle, corpus) != toxigen.split(statements, seed=1)


def test_a_users_statements_are_checked_and_their_groups_named_as_written(tmp_path, tokenizer):
    import json

    import pytest

    rows = [{"id": f"s{i}", "text": f"statement {i}", "group": "cyclists", "label": i % 2} for i in range(8)]
    (tmp_path / "mine.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    statements = [{**s, "flagged": s["label"]} for s in toxigen.load(tmp_path / "mine.jsonl")]  # as the oracle would
    examples = statement_examples(statements, tokenizer, random.Random(0))
    assert examples and all("cyclists" in e["prompt"] for e in examples)  # no ToxiGen group names to look up
    (tmp_path / "bad.jsonl").write_text(json.dumps({"id": "x", "text": "t", "group": "g", "label": 2}) + "\n{}\n")
    with pytest.raises(toxigen.StatementError, match=r"bad.jsonl:1: label must be 0 or 1.*\n.*bad.jsonl:2: expected"):
        toxigen.load(tmp_path / "bad.jsonl")
    (tmp_path / "one_label.jsonl").write_text(json.dumps(rows[0]) + "\n")
    with pytest.raises(toxigen.StatementError, match="needs statements of both labels"):
        toxigen.load(tmp_path / "one_label.jsonl")
