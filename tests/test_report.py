"""The table builder on hand-made results: known rows, intervals folded into Markdown, paired comparisons."""

from __future__ import annotations

import math

import pytest
import yaml
from conftest import REPO

from attrctl.config import parse
from attrctl.evaluation import report

TOX = {
    "expected_max_toxicity": 0.4,
    "toxicity_probability": 0.3,
    "toxicity_probability_ci_lo": 0.2,
    "toxicity_probability_ci_hi": 0.4,
    "mean_toxicity": 0.1,
    "profanity_check/toxicity_probability": 0.05,
    "cond_ppl": 20.0,
    "dist_1": 0.7,
    "dist_2": 0.9,
    "dist_3": 0.85,
    "challenging/toxicity_probability": 0.6,
}
LM_EVAL = {
    "attrctl_knowledge/acc": 0.78,
    "attrctl_knowledge/acc_norm": 0.7,
    "attrctl_text_ppl/word_perplexity": 79.0,
    "attrctl_toxicity_cls/acc": 0.55,
    "attrctl_toxicity_cls/f1": 0.2,
}


def config(models):
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["models"] = models
    return parse(raw)


def test_detox_rows_and_markdown():
    cfg = config(["base"])
    res = report.Results(toxicity={"base": TOX, "ghost": TOX}, lm_eval={"base": LM_EVAL})
    rows = report.detox_rows(cfg, res, ["embedding", "profanity_check"])
    assert [r["model"] for r in rows] == ["base"]  # not configured: no row
    row = rows[0]
    assert row["toxicity_probability"] == 0.3 and row["toxicity_probability_ci_hi"] == 0.4
    assert row["profanity_check/toxicity_probability"] == 0.05
    assert row["attrctl_knowledge/acc"] == 0.78 and row["benchmark_avg_acc"] == pytest.approx(0.78)
    assert math.isnan(row["expected_max_toxicity_ci_lo"])
    md = report.markdown(rows, "T", "a note")
    assert "| base | 0.400 | 0.300 [0.200, 0.400] | 0.100 |" in md and "a note" in md
    assert "toxicity_probability_ci_lo" not in md.splitlines()[4]  # folded into the value's cell
    assert report.csv_text(rows).splitlines()[0].split(",")[:5] == [
        "model",
        "expected_max_toxicity",
        "expected_max_toxicity_ci_lo",
        "expected_max_toxicity_ci_hi",
        "toxicity_probability",
    ]


def test_paired_rows_compare_on_the_same_prompts():
    cfg = config(["base", "sft"])

    def rows(scores):
        return [
            {"prompt_id": f"p{i}", "toxicity": s, "scores": {"embedding": s, "profanity_check": s / 2}}
            for i, s in enumerate(scores)
        ]

    res = report.Results(annotations={"base": rows([0.9, 0.1, 0.1, 0.1]), "sft": rows([0.9, 0.9, 0.9, 0.1])})
    (row,) = report.paired_rows(cfg, res, ["embedding", "profanity_check"])
    assert (row["model"], row["vs"]) == ("sft", "base")
    assert row["toxicity_probability_diff"] == pytest.approx(0.5)  # 3/4 against 1/4 of prompts
    assert row["toxicity_probability_ratio"] == pytest.approx(3.0)
    assert row["toxicity_probability_diff_ci_lo"] <= 0.5 <= row["toxicity_probability_diff_ci_hi"]
    assert row["profanity_check/toxicity_probability_diff"] == 0.0  # halved scores never pass 0.5


def test_missing_metrics_are_blank_not_zero():
    cfg = config(["base"])
    row = report.detox_rows(cfg, report.Results(toxicity={"base": {"toxicity_probability": 0.3}}), ["embedding"])[0]
    assert math.isnan(row["cond_ppl"]) and math.isnan(row["benchmark_avg_acc"])
    assert "| – |" in report.markdown([row])


def test_the_summary_holds_every_number_of_every_table_once_named():
    tables = {
        "detox": [{"model": "base", "toxicity_probability": 0.3, "cond_ppl": math.nan}],
        "paired": [{"model": "sft", "vs": "base", "toxicity_probability_diff": 0.1}],
        "l3m": [
            {"model": "base", "constraint": "length <= 5", "measured": 8.0, "met": "–"},
            {"model": "base", "constraint": "length <= 9", "measured": 8.0, "met": "–"},
        ],
        "nado": [{"nado": "sequential_iter1", "nado_auroc": 0.8}],
        "efficiency": [{"schedule": "parallel", "iteration": "all", "job": "critical path (4 jobs)", "seconds": 9.0}],
    }
    assert report.summary(tables) == {
        "base": {"toxicity_probability": 0.3, "l3m/length <= 5/measured": 8.0, "l3m/length <= 9/measured": 8.0},
        "sft": {"vs_base/toxicity_probability_diff": 0.1},
        "nado:sequential_iter1": {"nado_auroc": 0.8},
        "efficiency": {"parallel/all/critical path (4 jobs)/seconds": 9.0},
    }  # NaN (a blank cell) and text cells are not metrics


def test_the_readme_headline_is_rebuilt_from_the_report_csv(tmp_path):
    from attrctl.evaluation import headline

    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "detox.csv").write_text(
        "model,toxicity_probability,toxicity_probability_ci_lo,toxicity_probability_ci_hi,dist_1\n"
        "base,0.344,0.25,0.448,0.9\nsft,0.479,0.375,0.573,0.8\n"
    )
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- headline: results/detox.csv -->\n| stale |\n<!-- /headline -->\nrest\n")
    with pytest.raises(SystemExit):  # the stale block is caught
        headline.main(["--readme", str(readme), "--check"])
    headline.main(["--readme", str(readme)])
    text = readme.read_text()
    assert "| base | 0.344 [0.250, 0.448] |" in text and "| sft | 0.479 [0.375, 0.573] |" in text
    assert "dist_1" not in text and "stale" not in text and text.startswith("intro\n") and text.endswith("rest\n")
    headline.main(["--readme", str(readme), "--check"])
