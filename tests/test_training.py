"""The shared training loop: seeded, and a killed run resumes to the same weights as an uninterrupted one."""

from __future__ import annotations

import copy
import json
import math
import shutil
import struct

import pytest
import torch

from attrctl.config import TrainConfig
from attrctl.training import Job, epoch_order, fit

CFG = TrainConfig(lr=1e-2, epochs=3, batch_size=2, grad_accum=2, checkpoint_every=2)
EXAMPLES = [{"x": [float(i), float(i % 3)], "y": float(i % 2)} for i in range(10)]


class Killed(Exception):
    pass


def collate(batch):
    return {"x": torch.tensor([e["x"] for e in batch]), "y": torch.tensor([e["y"] for e in batch])}


def make_loss(model, kill_at=None):
    calls = {"n": 0}

    def loss_fn(model, batch):
        calls["n"] += 1
        if kill_at is not None and calls["n"] == kill_at:
            raise Killed
        pred = model(batch["x"]).squeeze(-1)
        loss = torch.nn.functional.mse_loss(pred, batch["y"])
        return loss, {"loss": loss.item()}

    return loss_fn


def fresh():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))


def test_epoch_order_depends_on_seed_and_epoch_only():
    assert epoch_order(10, 0, 1) == epoch_order(10, 0, 1)
    assert epoch_order(10, 0, 1) != epoch_order(10, 0, 2)
    assert sorted(epoch_order(10, 3, 0)) == list(range(10))


def test_resume_after_a_kill_reaches_the_same_weights(tmp_path):
    reference = fresh()
    history = fit(reference, make_loss(reference), EXAMPLES, collate, CFG, 0, Job(tmp_path / "a", "fp"))
    assert len(history) == 9  # 3 epochs x ceil(10 / (2 x 2)) steps

    model = fresh()
    with pytest.raises(Killed):  # dies in the 13th micro-batch: step 7, after the checkpoint of step 6
        fit(model, make_loss(model, kill_at=13), EXAMPLES, collate, CFG, 0, Job(tmp_path / "b", "fp"))
    resumed = fresh()  # a new process: fresh weights, everything else from the checkpoint
    history_b = fit(resumed, make_loss(resumed), EXAMPLES, collate, CFG, 0, Job(tmp_path / "b", "fp"))
    assert [h["step"] for h in history_b] == list(range(1, 10))
    for a, b in zip(reference.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_checkpoint_of_another_config_is_not_resumed(tmp_path):
    model = fresh()
    fit(model, make_loss(model), EXAMPLES, collate, CFG, 0, Job(tmp_path / "c", "fp-1"))
    other = fresh()
    untouched = copy.deepcopy(other.state_dict())
    history = fit(
        other, make_loss(other), EXAMPLES, collate, CFG.model_copy(update={"epochs": 1}), 0, Job(tmp_path / "c", "fp-2")
    )
    assert [h["step"] for h in history] == [1, 2, 3]  # started from scratch
    assert any(not torch.equal(untouched[k], v) for k, v in other.state_dict().items())


def test_a_non_finite_loss_stops_training_with_the_step_and_terms(tmp_path):
    from attrctl.training import NonFiniteError

    model = fresh()
    with pytest.raises(NonFiniteError, match=r"step 2 \(loss=(nan|inf).*learning rate"):  # lr 1e30: step 2 explodes
        fit(
            model, make_loss(model), EXAMPLES, collate, CFG.model_copy(update={"lr": 1e30}), 0, Job(tmp_path / "d", "x")
        )
    bad = [{"x": [1.0, 1.0], "y": float("nan")}] * 4
    with pytest.raises(NonFiniteError, match="step 1"):
        fit(fresh(), make_loss(fresh()), bad, collate, CFG, 0, Job(tmp_path / "e", "y"))
    assert not (tmp_path / "e" / "progress.json").exists()


def test_resumed_history_keeps_the_time_of_the_whole_training(tmp_path):
    model = fresh()
    with pytest.raises(Killed):
        fit(model, make_loss(model, kill_at=13), EXAMPLES, collate, CFG, 0, Job(tmp_path / "f", "fp"))
    before = [h["seconds"] for h in json.loads((tmp_path / "f" / "progress.json").read_text())["history"]]
    resumed = fresh()
    history = fit(resumed, make_loss(resumed), EXAMPLES, collate, CFG, 0, Job(tmp_path / "f", "fp"))
    seconds = [h["seconds"] for h in history]
    assert seconds[: len(before)] == before and all(b >= a for a, b in zip(seconds, seconds[1:], strict=False))


def test_a_second_writer_of_a_checkpoint_directory_gets_a_clear_error(tmp_path):
    from attrctl.training import CheckpointInUse, _locked

    model = fresh()
    with _locked(tmp_path / "g"), pytest.raises(CheckpointInUse, match="being written by another process"):
        fit(model, make_loss(model), EXAMPLES, collate, CFG, 0, Job(tmp_path / "g", "fp"))
    fit(model, make_loss(model), EXAMPLES, collate, CFG, 0, Job(tmp_path / "g", "fp"))  # free again


class Counting:
    """An objective with state of its own (as L3M's running constraint estimates): it counts its micro-batches."""

    def __init__(self, kill_at=None):
        self.calls, self.kill_at = 0, kill_at

    def state_dict(self):
        return {"calls": self.calls}

    def load_state_dict(self, state):
        self.calls = state["calls"]

    def __call__(self, model, batch):
        self.calls += 1
        if self.calls == self.kill_at:
            raise Killed
        loss = torch.nn.functional.mse_loss(model(batch["x"]).squeeze(-1), batch["y"])
        return loss, {"loss": loss.item()}


def test_an_objectives_own_state_is_checkpointed_and_resumed(tmp_path):
    # An epoch is 3 steps of 2, 2 and 1 micro-batches (10 rows, 4 a step): the kill in the 13th micro-batch (step 8)
    # comes after the checkpoint of step 6, 10 micro-batches in.
    with pytest.raises(Killed):
        fit(fresh(), Counting(kill_at=13), EXAMPLES, collate, CFG, 0, Job(tmp_path / "g", "fp"))
    resumed = Counting()
    fit(fresh(), resumed, EXAMPLES, collate, CFG, 0, Job(tmp_path / "g", "fp"))
    assert resumed.calls == 15  # 10 restored + 5 after the resume, as in an uninterrupted run (not 5)


def test_setup_torch_seeds_and_makes_kernels_deterministic():
    """Every stage starts here: the same seed draws the same numbers, and kernels with a nondeterministic
    implementation warn (set without importing torch.compile's stack, which nothing here uses)."""
    from attrctl.config import RuntimeConfig
    from attrctl.runtime import setup_torch

    runtime = RuntimeConfig(device="cpu", threads=0)  # 0: leave this process's thread count alone
    setup_torch(runtime, seed=3)
    first = torch.rand(4)
    setup_torch(runtime, seed=3)
    assert torch.equal(first, torch.rand(4))
    assert torch.are_deterministic_algorithms_enabled() and torch.is_deterministic_algorithms_warn_only_enabled()


def test_the_fingerprint_covers_params_name_input_contents_and_code(tmp_path):
    from attrctl.training import fingerprint

    data, model, code = tmp_path / "data.jsonl", tmp_path / "model", tmp_path / "loss.py"
    data.write_text("{}\n")
    model.mkdir()
    (model / "model.safetensors").write_bytes(b"\x00\x01")
    code.write_text("x = 1\n")
    first = fingerprint({"lr": 0.1}, "sft", [data, model], [code])
    (model / ".snakemake_timestamp").write_text("")  # Snakemake's bookkeeping is not content
    assert fingerprint({"lr": 0.1}, "sft", [data, model], [code]) == first
    assert fingerprint({"lr": 0.2}, "sft", [data, model], [code]) != first
    assert fingerprint({"lr": 0.1}, "filter", [data, model], [code]) != first
    (model / "model.safetensors").write_bytes(b"\x00\x02")  # a retrained start model or guide
    assert fingerprint({"lr": 0.1}, "sft", [data, model], [code]) != first
    (model / "model.safetensors").write_bytes(b"\x00\x01")
    code.write_text("x = 2\n")
    assert fingerprint({"lr": 0.1}, "sft", [data, model], [code]) != first


def _rewrite_weights(state, change):
    weights = state / "model.safetensors"
    weights.write_bytes(change(weights.read_bytes()))


DAMAGE = {  # the last tensor's values zeroed, as a disk error would leave them; a file cut short
    "bytes zeroed": lambda state: _rewrite_weights(state, lambda data: data[:-16] + bytes(16)),
    "truncated": lambda state: _rewrite_weights(state, lambda data: data[:9]),
    "NaN-filled": lambda state: _rewrite_weights(state, lambda data: data[:-16] + struct.pack("<4f", *[math.nan] * 4)),
    "state deleted": lambda state: shutil.rmtree(state),
    "no manifest": lambda state: (state / "manifest.json").unlink(),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_checkpoint_is_named_and_training_starts_afresh(tmp_path, damage, capsys):
    reference = fresh()
    fit(reference, make_loss(reference), EXAMPLES, collate, CFG, 0, Job(tmp_path / "a", "fp"))
    model = fresh()
    with pytest.raises(Killed):  # after the checkpoint of step 6
        fit(model, make_loss(model, kill_at=13), EXAMPLES, collate, CFG, 0, Job(tmp_path / "b", "fp"))
    state = tmp_path / "b" / "step-000006"
    DAMAGE[damage](state)
    again = fresh()
    fit(again, make_loss(again), EXAMPLES, collate, CFG, 0, Job(tmp_path / "b", "fp"))
    assert f"not resuming: {state} is damaged" in capsys.readouterr().out
    for a, b in zip(reference.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)  # the weights of a clean run, not of a damaged state


def test_a_full_disk_leaves_no_partial_state_and_is_named(tmp_path, monkeypatch, capsys):
    import accelerate

    from attrctl.stages import cli

    def save_state(self, output_dir, **kwargs):  # a state half written when the disk fills up
        (tmp_path / "b").joinpath(output_dir).mkdir(parents=True, exist_ok=True)
        (tmp_path / "b" / output_dir / "model.safetensors").write_bytes(bytes(1000))
        raise RuntimeError("[enforce fail at inline_container.cc:778] . PytorchStreamWriter failed writing file")

    monkeypatch.setattr(accelerate.Accelerator, "save_state", save_state)
    model = fresh()
    with pytest.raises(RuntimeError) as failed:
        fit(model, make_loss(model), EXAMPLES, collate, CFG, 0, Job(tmp_path / "b", "fp"))
    assert not list((tmp_path / "b").glob(".step-*")), "a half-written state is left taking space"
    cli._explained(failed.type, failed.value, None)
    assert "error: the disk is full" in capsys.readouterr().err
    assert not cli.disk_full(ValueError("bad value")) and cli.disk_full(OSError(28, "No space left on device"))


def test_a_stage_error_is_not_masked_by_a_tracking_store_that_fails_too(tmp_path, monkeypatch, capsys):
    from attrctl import tracking
    from attrctl.config import Config

    def end(self, status):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tracking.StageRun, "start", lambda self: None)
    monkeypatch.setattr(tracking.StageRun, "end", end)
    with pytest.raises(Killed), tracking.stage_run(Config(), tmp_path / "params.yaml", "finetune", "sft"):
        raise Killed
    assert "MLflow run finetune:sft not marked FAILED" in capsys.readouterr().err
