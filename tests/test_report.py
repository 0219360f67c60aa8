"""The table builder on hand-made metric files: known rows, known average."""

from __future__ import annotations

import json
import math

import yaml
from conftest import REPO

from attrctl import report
from attrctl.config import parse


def write(root, model, name, metrics):
    path = root / "metrics" / model / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(metrics))


def test_detox_rows_from_metric_files(tmp_path):
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["models"] = ["base"]
    cfg = parse(raw)
    tox = {
        "expected_max_toxicity": 0.4,
        "toxicity_probability": 0.3,
        "mean_toxicity": 0.1,
        "cond_ppl": 20.0,
        "dist_1": 0.7,
        "dist_2": 0.9,
        "dist_3": 0.85,
        "challenging/toxicity_probability": 0.6,
    }
    write(tmp_path, "base", "toxicity", tox)
    write(
        tmp_path,
        "base",
        "lm_eval",
        {
            "attrctl_knowledge/acc": 0.78,
            "attrctl_knowledge/acc_norm": 0.7,
            "attrctl_text_ppl/word_perplexity": 79.0,
            "attrctl_toxicity_cls/acc": 0.55,
            "attrctl_toxicity_cls/f1": 0.2,
        },
    )
    write(tmp_path, "ghost", "toxicity", tox)  # not configured: must not appear
    rows = report.detox_rows(cfg, tmp_path)
    assert [r["model"] for r in rows] == ["base"]
    assert rows[0] == {
        "model": "base",
        **{k: v for k, v in tox.items() if "/" not in k},
        "attrctl_knowledge/acc": 0.78,
        "attrctl_text_ppl/word_perplexity": 79.0,
        "attrctl_toxicity_cls/acc": 0.55,
        "attrctl_toxicity_cls/f1": 0.2,
        "benchmark_avg_acc": 0.78,
    }
    md = report.markdown(rows, "T")
    assert "| base | 0.400 | 0.300 | 0.100 | 20.000 |" in md
    assert report.csv_text(rows).splitlines()[1].startswith("base,0.4,0.3,0.1,20.0")


def test_missing_metrics_are_blank_not_zero(tmp_path):
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    cfg = parse(raw)
    write(tmp_path, "base", "toxicity", {"toxicity_probability": 0.3})
    row = report.detox_rows(cfg, tmp_path)[0]
    assert math.isnan(row["cond_ppl"]) and math.isnan(row["benchmark_avg_acc"])
    assert "| – |" in report.markdown([row])
