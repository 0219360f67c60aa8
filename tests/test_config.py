"""Params validation: each class of error gives a clear message (key, value, what is allowed), a non-zero
exit and no output (it fails before any work) — from the stage CLIs and from Snakemake at parse time."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
import yaml
from conftest import PYTHON, REPO, make_project, run

from attrctl.config import Config, ConfigError, Section, load, parse

DEFAULT = yaml.safe_load((REPO / "params.yaml").read_text())

BAD = {  # class of error: (override, words the message must contain)
    "unknown method": ({"models": ["base", "magic"]}, ["models.1", "'magic'", "'base'"]),
    "negative count": ({"sample": {"k": -3}}, ["sample.k", "-3", "greater than 0"]),
    "missing model path": ({"model": {"source": "./no/such/model"}}, ["model.source", "./no/such/model", "embedded"]),
    "wrong type": ({"sample": {"top_p": "lots"}}, ["sample.top_p", "'lots'", "number"]),
    "unknown key": ({"sample": {"topp": 0.9}}, ["sample.topp", "unknown key", "top_p"]),
    "out of range": ({"sample": {"top_p": 1.5}}, ["sample.top_p", "1.5", "less than or equal to 1"]),
    "hub id offline": ({"model": {"source": "org/model"}}, ["model.source", "org/model", "offline"]),
    "bool for a number": ({"sample": {"k": True}}, ["sample.k", "True", "valid integer"]),
    "text for a number": ({"sample": {"k": "3"}}, ["sample.k", "'3'", "valid integer"]),
    "yaml exponent text": ({"finetune": {"train": {"lr": "1e-5"}}}, ["finetune.train.lr", "write 1.0e-5"]),
    "infinite rate": ({"finetune": {"train": {"lr": float("inf")}}}, ["finetune.train.lr", "finite number"]),
    "nan": ({"nado": {"delta": float("nan")}}, ["nado.delta", "finite number"]),
    "duplicate models": ({"models": ["base", "sft", "base"]}, ["models lists ['base'] more than once"]),
    "unknown reference model": (
        {"evaluate": {"reference_model": "nonexistent"}},
        ["evaluate.reference_model", "'nonexistent'", "'base'"],
    ),
    "guided reference model": (
        {"evaluate": {"reference_model": "nado_decode"}},
        ["evaluate.reference_model", "nado_decode"],
    ),
    "seed past 32 bits": ({"seed": 2**32}, ["seed", "4294967296", "less than 4294967296"]),
    "tiny model shape": ({"model": {"tiny": {"hidden": 6, "heads": 2}}}, ["model.tiny.hidden = 6", "even head"]),
    "negative sweep": ({"tnt": {"sweep": [-5.0]}}, ["tnt.sweep.0", "-5.0", "greater than 0"]),
    "negative multiplier": ({"l3m": {"mm_weights": {"length": -1.0}}}, ["l3m.mm_weights.length", "greater than 0"]),
}


SAMPLE_ARGS = ["--name", "m", "--model", "m", "--prompts", "p.jsonl", "--split", "eval", "--out", "o", "--timing", "t"]


def merged(override: dict) -> dict:
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    for key, value in override.items():
        if isinstance(value, dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    return raw


def test_params_yaml_spells_out_the_defaults():
    assert load(REPO / "params.yaml") == Config()


def test_default_and_profiles_are_valid(monkeypatch):
    from attrctl import config
    from attrctl.profiles import build

    monkeypatch.setattr(config, "hub_reachable", lambda: True)  # the paper profile names hub models and data
    assert isinstance(load(REPO / "params.yaml"), Config)
    for path in sorted((REPO / "configs").glob("*.yaml")):  # overlays on the defaults
        assert isinstance(build([path]), Config), path


def test_every_field_is_documented():
    def walk(model):
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no docstring"
            if isinstance(field.annotation, type) and issubclass(field.annotation, Section):
                walk(field.annotation)

    walk(Config)


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_params_message(case):
    override, words = BAD[case]
    with pytest.raises(ConfigError) as err:
        parse(merged(override))
    for word in words:
        assert word in str(err.value), f"{case}: {word!r} missing from:\n{err.value}"


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_params_stop_the_stage_cli(tmp_path, case):
    override, words = BAD[case]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(merged(override)))
    proc = run([PYTHON, "-m", "attrctl.stages.sample", "--params", "params.yaml", *SAMPLE_ARGS], tmp_path, check=False)
    assert proc.returncode == 2
    assert words[0] in proc.stderr
    assert not (tmp_path / "results").exists(), "nothing may be written for invalid params"


def test_bad_params_stop_snakemake_before_any_job(tmp_path):
    project = make_project(tmp_path / "p", REPO / "params.yaml")
    raw = merged({"sample": {"k": 0}})
    (project / "params.yaml").write_text(yaml.safe_dump(raw))
    proc = run(["snakemake", "--cores", "1", "-n"], project, check=False)
    assert proc.returncode == 2, "the exit status of a stage given bad params"
    assert (proc.stdout + proc.stderr).count("sample.k = 0") == 1, "the message once"
    (project / "params.yaml").write_text((REPO / "params.yaml").read_text() + "sample: {k: 2\n")
    proc = run(["snakemake", "--cores", "1", "-n"], project, check=False)
    assert proc.returncode == 2 and "error: params file params.yaml:" in proc.stderr  # file:line:column
    assert not (project / "results").exists()


def test_snakemake_configfile_goes_through_validation(tmp_path):
    project = make_project(tmp_path / "p", REPO / "params.yaml")
    (project / "other.yaml").write_text(yaml.safe_dump(merged({"oracle": {"name": "perspectiv"}})))
    proc = run(["snakemake", "--cores", "1", "-n", "--configfile", "other.yaml"], project, check=False)
    assert proc.returncode != 0 and "oracle.name" in proc.stdout + proc.stderr
    (project / "other.yaml").write_text(yaml.safe_dump(merged({"sample": {"k": 3}})))
    proc = run(["snakemake", "--cores", "1", "-n", "--configfile", "other.yaml"], project, check=False)
    assert proc.returncode != 0 and "differs from params.yaml" in proc.stdout + proc.stderr


def test_missing_params_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load(Path(tmp_path) / "params.yaml")
    (tmp_path / "params.yaml").write_text("")
    with pytest.raises(ConfigError, match="params.yaml' is empty: write it with `python -m attrctl.profiles`"):
        load(Path(tmp_path) / "params.yaml")


def test_a_key_written_twice_is_refused_with_both_lines(tmp_path):
    from attrctl.profiles import read_overlay

    (tmp_path / "params.yaml").write_text("seed: 0\nsample:\n  k: 2\n  top_p: 0.9\n  k: 25\n")
    with pytest.raises(ConfigError, match=r"params.yaml:5:3: duplicate key 'k' \(first at line 3\)"):
        load(tmp_path / "params.yaml")
    (tmp_path / "profile.yaml").write_text("models: [base]\nseed: 1\nmodels: [sft]\n")
    with pytest.raises(ConfigError, match=r"profile .*profile.yaml:3:1: duplicate key 'models' \(first at line 1\)"):
        read_overlay(tmp_path / "profile.yaml")


def test_a_yaml_syntax_error_names_file_line_and_column(tmp_path):
    (tmp_path / "params.yaml").write_text("seed: 0\nsample: {k: 2\nmodels: [base]\n")
    with pytest.raises(ConfigError, match=r"params file .*params.yaml:3:\d+: "):
        load(tmp_path / "params.yaml")


def test_every_stage_refuses_a_params_file_that_leaves_tracked_keys_to_defaults(tmp_path):
    (tmp_path / "params.yaml").write_text("seed: 0\n")  # valid for the typed config (all defaults), not for DVC
    proc = run([PYTHON, "-m", "attrctl.stages.sample", "--params", "params.yaml", *SAMPLE_ARGS], tmp_path, check=False)
    assert proc.returncode == 2 and "data.train_blocks" in proc.stderr and "missing" in proc.stderr
    assert not (tmp_path / "results").exists()


def test_bad_prompts_stop_validate_with_the_same_exit_code(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"prompt": "fine"}\n{"prompt": {"text": ""}}\n')
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(merged({"data": {"prompts": "bad.jsonl"}})))
    cmd = [PYTHON, "-m", "attrctl.stages.validate", "--params", "params.yaml", "--prompts", "bad.jsonl", "--out", "v"]
    proc = run(cmd, tmp_path, check=False)
    assert proc.returncode == 2 and "bad.jsonl:2: no prompt text" in proc.stderr
    assert not (tmp_path / "v").exists()


def test_tracked_reads_sections_and_dotted_keys_from_either_config_form():
    from attrctl.config import tracked

    cfg = parse(merged({}))
    values = tracked(cfg, "finetune", {"model": "nado_reg"})
    assert values["nado.delta"] == cfg.nado.delta and values["seed"] == cfg.seed
    assert values["finetune"]["train"]["lr"] == cfg.finetune.train.lr
    assert tracked(cfg.model_dump(mode="json"), "finetune", {"model": "nado_reg"}) == values
    # per job: sft reads neither q*'s δ nor λ; the sweep's λ is in its name
    assert set(tracked(cfg, "finetune", {"model": "sft"})) == {
        "finetune",
        "model.lora_targets",
        "nado_reg.iterations",
        "seed",
    }
    assert "nado_reg.kl_weight" not in tracked(cfg, "finetune", {"model": "nado_reg_l1"})
    assert "nado_reg.general_weight" in tracked(cfg, "finetune", {"model": "nado_reg_adaptive"})


@pytest.mark.parametrize(
    "runtime, words",
    [
        ({"launcher": "pythn"}, "runtime.launcher = 'pythn': no executable 'pythn' on PATH"),
        ({"device": "cuda"}, "runtime.device = 'cuda', but no CUDA GPU is visible here"),
    ],
)
def test_validate_checks_what_the_runtime_needs_of_this_machine(tmp_path, runtime, words):
    import torch

    if "device" in runtime and torch.cuda.is_available():
        pytest.skip("a GPU is visible: device cuda is fine here")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(merged({"runtime": runtime})))
    cmd = [PYTHON, "-m", "attrctl.stages.validate", "--params", "params.yaml", "--out", "v"]
    proc = run(cmd, tmp_path, check=False)
    assert proc.returncode == 2 and words in proc.stderr
    assert not (tmp_path / "v").exists()


NO_KEY = "ATTRCTL_TEST_UNSET_KEY"


def _classifier_dirs(root: Path) -> None:
    (root / "lm").mkdir()
    (root / "lm" / "config.json").write_text('{"architectures": ["LlamaForCausalLM"]}')
    (root / "weights_only").mkdir()
    (root / "weights_only" / "model.safetensors").write_bytes(b"")
    (root / "no_tokenizer").mkdir()
    (root / "no_tokenizer" / "config.json").write_text('{"architectures": ["RobertaForSequenceClassification"]}')


@pytest.mark.parametrize(
    "oracle, words",
    [
        ({"second": "perspective", "perspective_key_env": NO_KEY}, f"API key in the environment variable {NO_KEY}"),
        ({"second": "detoxify"}, "needs the `detoxify` package"),
        ({"second": "hf_classifier", "hf_model": "org/uncached-classifier"}, "not in the local HF cache"),
        ({"second": "hf_classifier", "hf_model": "lm"}, "is a LlamaForCausalLM model, not a sequence classifier"),
        ({"second": "hf_classifier", "hf_model": "weights_only"}, "has no config.json"),
        ({"second": "hf_classifier", "hf_model": "no_tokenizer"}, "has no tokenizer"),
        ({"second": "hf_classifier", "hf_model": "./no/such"}, "'./no/such': no such directory"),
    ],
)
def test_validate_checks_each_oracles_package_key_and_model(tmp_path, monkeypatch, oracle, words):
    import importlib.util

    from attrctl import oracles

    if "detoxify" in oracle.values() and importlib.util.find_spec("detoxify"):
        pytest.skip("detoxify is installed here")
    monkeypatch.delenv(NO_KEY, raising=False)
    monkeypatch.chdir(tmp_path)
    _classifier_dirs(tmp_path)
    cfg = parse(merged({"oracle": oracle}))
    assert any(words in problem for problem in oracles.problems(cfg.oracle, offline=True))
    assert oracles.problems(parse(merged({})).oracle, offline=True) == []


def test_validate_checks_the_tracking_store(tmp_path, monkeypatch):
    from attrctl import tracking

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    params = tmp_path / "params.yaml"
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "mlflow.db").write_bytes(b"not a database" * 100)
    found = tracking.problems(parse(merged({})), params)
    assert len(found) == 1 and "mlflow.db is no readable MLflow database" in found[0]
    assert "tracking.enabled: false" in found[0]
    assert tracking.problems(parse(merged({"tracking": {"enabled": False}})), params) == []
    (tmp_path / "results" / "mlflow.db").unlink()
    assert tracking.problems(parse(merged({})), params) == []  # a new store is made on first use
    with socket.socket() as free:  # a port nothing listens on
        free.bind(("127.0.0.1", 0))
        uri = f"http://127.0.0.1:{free.getsockname()[1]}"
    start = time.monotonic()
    found = tracking.problems(parse(merged({"tracking": {"uri": uri}})), params, timeout=1)
    assert f"tracking server {uri} does not answer" in found[0] and time.monotonic() - start < 5


def test_validate_stage_reports_every_problem_of_the_machine_at_once(tmp_path, monkeypatch):
    monkeypatch.delenv(NO_KEY, raising=False)
    raw = merged({"oracle": {"second": "perspective", "perspective_key_env": NO_KEY}})
    (tmp_path / "params.yaml").write_text(
        yaml.safe_dump({**raw, "tracking": {**raw["tracking"], "uri": "http://127.0.0.1:9"}})
    )
    cmd = [PYTHON, "-m", "attrctl.stages.validate", "--params", "params.yaml", "--out", "v"]
    proc = run(cmd, tmp_path, check=False)
    assert proc.returncode == 2 and NO_KEY in proc.stderr and "http://127.0.0.1:9 does not answer" in proc.stderr
    assert not (tmp_path / "v").exists()


def test_a_stage_names_a_missing_input_before_loading_it(tmp_path):
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text())
    proc = run([PYTHON, "-m", "attrctl.stages.sample", "--params", "params.yaml", *SAMPLE_ARGS], tmp_path, check=False)
    assert proc.returncode == 2 and "error: --model m: no such file or directory" in proc.stderr
    assert not (tmp_path / "o").exists()


def test_bad_statements_stop_validate(tmp_path):
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text())
    (tmp_path / "s.jsonl").write_text('{"id": "a", "text": "t", "group": "g", "label": 1}\n')
    cmd = [PYTHON, "-m", "attrctl.stages.validate", "--params", "params.yaml", "--statements", "s.jsonl", "--out", "v"]
    proc = run(cmd, tmp_path, check=False)
    assert proc.returncode == 2 and "s.jsonl: needs statements of both labels" in proc.stderr
    assert not (tmp_path / "v").exists()
