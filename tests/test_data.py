"""Prompt sources, their checks (every bad record as file:line) and the split."""

from __future__ import annotations

import json

import pytest
from conftest import REPO

from attrctl.config import DataConfig
from attrctl.data import PromptError, load_jsonl, load_prompts, load_txt, split
from attrctl.pipeline.paths import EMBEDDED_PROMPTS

EMBEDDED = REPO / EMBEDDED_PROMPTS


def test_embedded_prompt_set():
    prompts = load_prompts(EMBEDDED, DataConfig())
    subsets = [p["subset"] for p in prompts]
    assert subsets.count("challenging") == subsets.count("neutral") == subsets.count("group") == 320
    assert len({p["id"] for p in prompts}) == len(prompts) and len({p["text"] for p in prompts}) == len(prompts)


def test_rtp_jsonl(tmp_path):
    path = tmp_path / "rtp.jsonl"
    rows = [
        {"filename": "f1", "challenging": True, "prompt": {"text": "So I said", "toxicity": 0.1}},
        {"filename": "f1", "challenging": False, "prompt": {"text": "The cat"}},  # a document gives several
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    assert load_jsonl(path) == [
        {"id": "f1#1", "text": "So I said", "subset": "challenging"},
        {"id": "f1#2", "text": "The cat", "subset": "neutral"},
    ]


def test_toxigen_txt(tmp_path):
    path = tmp_path / "hate_test_1k.txt"
    path.write_text("- first line\\n- second line\\n-\n- other\\n-\n")
    prompts = load_txt(path)
    assert [p["text"] for p in prompts] == ["- first line\n- second line\n-", "- other\n-"]
    assert {p["subset"] for p in prompts} == {"challenging"}


BAD_FILES = {  # content, words every message must contain
    "malformed line": (b'{"prompt": {"text": "ok"}}\n{"prompt": oops}\n', [":2:", "not valid JSON"]),
    "missing text": (b'{"id": "a", "prompt": {"toxicity": 0.1}}\n', [":1:", "no prompt text"]),
    "null text": (b'{"id": "a", "prompt": {"text": null}}\n', [":1:", "no prompt text"]),
    "empty text": (b'{"id": "a", "prompt": {"text": "  "}}\n', [":1:", "no prompt text"]),
    "not an object": (b'[1, 2]\n"just a string"\n', [":1:", ":2:", "JSON object"]),
    "duplicate ids": (
        b'{"id": "a", "prompt": "x"}\n{"id": "a", "prompt": "y"}\n',
        [":2:", "duplicate id 'a'", "line 1"],
    ),
    "not UTF-8": (b'{"prompt": "caf\xe9"}\n', ["not UTF-8"]),
    "empty file": (b"", ["no prompts"]),
    "blank lines only": (b"\n  \n\n", ["no prompts"]),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_prompt_files_say_where(tmp_path, case):
    content, words = BAD_FILES[case]
    path = tmp_path / "prompts.jsonl"
    path.write_bytes(content)
    with pytest.raises(PromptError) as err:
        load_prompts(path, DataConfig())
    for word in [str(path), *words]:
        assert word in str(err.value), f"{case}: {word!r} missing from {err.value}"


def test_every_bad_record_is_reported_at_once(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"prompt": "a"}\nnope\n{"prompt": ""}\n{"prompt": "b"}\n[]\n')
    message = str(pytest.raises(PromptError, load_prompts, path, DataConfig()).value)
    assert ":2:" in message and ":3:" in message and ":5:" in message


def test_empty_txt_and_too_few_prompts_for_the_split(tmp_path):
    empty = tmp_path / "neutral_x.txt"
    empty.write_text("")
    with pytest.raises(PromptError, match="no prompts"):
        load_prompts(empty, DataConfig())
    one = tmp_path / "neutral_y.txt"
    one.write_text("only one prompt\n")
    with pytest.raises(PromptError, match="data.eval_fraction.*data.train_blocks"):
        split(load_prompts(one, DataConfig()), DataConfig(), seed=0)


def test_split_is_deterministic_stratified_and_disjoint():
    prompts = load_prompts(EMBEDDED, DataConfig())
    cfg = DataConfig(eval_fraction=0.25, max_eval=12, max_train=None)
    train, evals = split(prompts, cfg, seed=0)
    assert split(prompts, cfg, seed=0) == (train, evals)
    assert split(prompts, cfg, seed=1) != (train, evals)
    assert {p["id"] for p in train}.isdisjoint(p["id"] for p in evals)
    assert [p["subset"] for p in evals].count("challenging") == 4
    assert len(train) == 720


def test_degenerate_prompt_sets_name_the_real_cause(tmp_path):
    def prompts(rows: list[tuple[str, str]]) -> list[dict]:
        return [{"id": str(i), "text": text, "subset": subset} for i, (text, subset) in enumerate(rows)]

    cfg = DataConfig(train_blocks=1)
    with pytest.raises(PromptError, match="all 40 prompts are the same text 'Hello'"):
        split(prompts([("Hello", "neutral")] * 40), cfg, seed=0)
    with pytest.raises(PromptError, match="each of the 6 prompts is its own subset"):
        split(prompts([(f"text {i}", f"s{i}") for i in range(6)]), cfg, seed=0)
    repeated = prompts([(f"text {i % 10}", "neutral") for i in range(40)])
    with pytest.warns(UserWarning, match=r"prompt texts are both train and eval prompts \(e.g. 'text"):
        split(repeated, cfg, seed=0)


def test_datasets_tables_load_with_mapped_fields(tmp_path):
    """A save_to_disk directory (one split or several), parquet and CSV, with the columns named by data.fields."""
    import datasets

    rows = {"sentence": ["The weather", "My boss", ""], "group": ["a", "b", "a"], "uid": ["u1", "u2", "u3"]}
    table = datasets.Dataset.from_dict(rows)
    table.save_to_disk(str(tmp_path / "one"))
    datasets.DatasetDict({"test": table}).save_to_disk(str(tmp_path / "several"))
    table.to_parquet(str(tmp_path / "p.parquet"))
    table.to_csv(str(tmp_path / "c.csv"), index=False)
    cfg = DataConfig(fields={"text": "sentence", "id": "uid", "subset": "group"}, hf_split="test")
    expected = [{"id": "u1", "text": "The weather", "subset": "a"}, {"id": "u2", "text": "My boss", "subset": "b"}]
    for source in ("one", "several", "p.parquet", "c.csv"):
        with pytest.raises(PromptError, match=r":3: no prompt text \(expected a non-empty string at sentence"):
            load_prompts(tmp_path / source, cfg)
    table.select([0, 1]).save_to_disk(str(tmp_path / "clean"))
    assert load_prompts(tmp_path / "clean", cfg) == expected
    with pytest.raises(PromptError, match=r"holds the splits \['test'\], not data.hf_split = 'train'"):
        load_prompts(tmp_path / "several", DataConfig(fields=cfg.fields))
    with pytest.raises(PromptError, match=r":1: no prompt text \(expected a non-empty string at prompt.text"):
        load_prompts(tmp_path / "clean", DataConfig())  # unmapped: the RTP schema is looked for


def test_a_separate_eval_source_evaluates_whole_and_the_prompts_all_train():
    prompts = load_prompts(EMBEDDED, DataConfig())
    train_source = [p for p in prompts if p["subset"] != "group"]
    eval_source = [p for p in prompts if p["subset"] == "group"]
    cfg = DataConfig(max_train=None, max_eval=None)
    train, evals = split(train_source, cfg, seed=0, eval_prompts=eval_source)
    assert sorted(p["id"] for p in train) == sorted(p["id"] for p in train_source)
    assert sorted(p["id"] for p in evals) == sorted(p["id"] for p in eval_source)
    assert split(train_source, cfg, seed=0, eval_prompts=eval_source) == (train, evals)


def test_prepare_data_takes_a_separate_eval_source(tmp_path):
    from conftest import PYTHON, run

    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text())
    (tmp_path / "other.jsonl").write_text("".join(f'{{"prompt": "transfer prompt {i}"}}\n' for i in range(5)))
    cmd = [PYTHON, "-m", "attrctl.stages.prepare_data", "--source", str(EMBEDDED), "--eval-prompts", "other.jsonl"]
    run([*cmd, "--train", "train.jsonl", "--eval", "eval.jsonl"], tmp_path, env={"MLFLOW_TRACKING_URI": ""})
    evals = [json.loads(line)["text"] for line in (tmp_path / "eval.jsonl").read_text().splitlines()]
    assert sorted(evals) == [f"transfer prompt {i}" for i in range(5)]
    assert len((tmp_path / "train.jsonl").read_text().splitlines()) == DataConfig().max_train
