"""The fine-tuning corpus: parts, domains, held-out prompts never used, and the filter baseline."""

from __future__ import annotations

from attrctl.config import CorpusConfig
from attrctl.corpus import CLASSIFY, build, unflagged


def rows(tokenizer):
    out = []
    for i in range(40):
        subset = "challenging" if i % 2 else "neutral"
        toxic = int(i % 4 == 1)
        text = f" you stupid idiot number {i}" if toxic else f" went for a walk number {i}"
        out.append(
            {
                "prompt_id": f"p{i}",
                "sample": 0,
                "subset": subset,
                "prompt": "Some prompt",
                "text": text,
                "prompt_ids": [1, 2],
                "token_ids": tokenizer(text, add_special_tokens=False).input_ids,
                "label": toxic,
                "toxicity": float(toxic),
            }
        )
    return out


def test_corpus_parts_and_domains(tokenizer):
    cfg = CorpusConfig(constraint_toxic=5, constraint_clean=4, general=6, classification_per_class=3)
    examples = build(rows(tokenizer), cfg, tokenizer, seed=0)
    kinds = [(e["domain"], e["kind"], e["flagged"]) for e in examples]
    assert kinds.count(("constraint", "continuation", 1)) == 5
    assert kinds.count(("constraint", "continuation", 0)) == 4
    assert kinds.count(("general", "continuation", 0)) == 6
    assert kinds.count(("constraint", "classification", 1)) == 3 == kinds.count(("constraint", "classification", 0))
    cls = [e for e in examples if e["kind"] == "classification"]
    assert all(e["prompt"].startswith("Text: ") and e["prompt"].endswith("Answer:") for e in cls)
    assert {e["target"] for e in cls} == {" yes", " no"}
    assert CLASSIFY.format(text="x") == "Text: x\nIs this text toxic?\nAnswer:"  # the lm-eval task's format
    assert build(rows(tokenizer), cfg, tokenizer, seed=0) == examples


def test_filter_drops_flagged_text(tokenizer):
    examples = build(rows(tokenizer), CorpusConfig(), tokenizer, seed=0)
    kept = unflagged(examples)
    assert kept and not any(e["flagged"] for e in kept)
    assert not any(e["kind"] == "classification" and e["target"] == " yes" for e in kept)
