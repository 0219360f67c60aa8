"""The method registry: every method package is found, owns its config sections and model names, and the
config, experiments and tables are assembled from the declarations."""

from __future__ import annotations

import pytest

from attrctl import methods
from attrctl.config import DEFAULT_MODELS, Config, ConfigError, parse, tracked_keys


def test_the_method_packages_are_found_in_their_order():
    assert [m.name for m in methods.registered()] == ["nado", "finetune", "tnt", "l3m", "dglm", "dexperts", "dpo"]
    fields = list(Config.model_fields)
    assert fields[-10:] == ["nado", "corpus", "finetune", "nado_reg", "rl", "tnt", "l3m", "dglm", "dexperts", "dpo"]
    assert Config.model_fields["tnt"].description.startswith("Targeted Negative Training")


@pytest.mark.parametrize(
    "model, owner",
    [
        ("base", "core"),
        ("nado_decode", "nado"),
        ("sft", "finetune"),
        ("nado_reg_l0p5", "finetune"),
        ("tnt_nl", "tnt"),
        ("mm_len5", "l3m"),
        ("dglm_pos_tox", "dglm"),
        ("dpo", "dpo"),
        ("dexperts", "dexperts"),
        ("dexperts_a0p5", "dexperts"),
    ],
)
def test_every_model_name_has_one_owner(model, owner):
    assert [m.name for m in methods.methods() if m.owns(model)] == [owner]


def test_an_unknown_model_names_what_the_methods_allow():
    with pytest.raises(ConfigError) as err:
        parse({**Config().model_dump(mode="json"), "models": ["base", "nado_regg"]})
    assert "models.1 = 'nado_regg'" in str(err.value) and "nado_reg_l<λ>" in str(err.value)


def test_experiments_take_their_methods_models():
    config = Config().model_dump(mode="json") | {"models": [*DEFAULT_MODELS, "l3m_len5", "dglm"]}
    nado = methods.experiment_models("nado", config)
    assert "sft" in nado and "nado_decode" in nado and not {"tnt_nl", "l3m_len5", "dglm"} & set(nado)
    assert methods.experiment_models("tnt", config) == ["base", "tnt_tnrr", "tnt_nl"]
    # DGLM runs are decoding-time models too, listed once: after base and the other methods' decoders
    assert methods.experiment_models("dglm", config) == ["base", "nado_decode", *Config().dglm.runs]


def test_tables_and_plots_are_declared_once_with_their_functions():
    tables = methods.tables()
    assert list(tables)[:5] == ["toxicity", "detox", "paired", "classification", "oracle"]
    assert {"nado", "efficiency", "tnt", "l3m", "dglm"} <= set(tables)
    for name, table in tables.items():
        assert callable(methods.resolve(table.rows)), name
        assert table.title and "model" in table.columns, name
    for name, ref in methods.plots().items():
        assert callable(methods.resolve(ref)), name


def test_meanings_reads_name_lines_and_continuations():
    text = "\n  a: first\n  b: second, which\n  goes on\n"
    assert methods.meanings(text) == {"a": "first", "b": "second, which goes on"}


def test_tracked_keys_follow_the_configured_models():
    assert "nado_reg.general_weight" not in tracked_keys(["base", "sft"])
    assert "nado_reg.general_weight" in tracked_keys(["base", "nado_reg_adaptive"])
