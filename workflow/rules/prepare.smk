rule validate:
    output:
        VALIDATED,
    shell:
        STAGE.format("validate")


rule prepare_model:
    input:
        VALIDATED,
        code("prepare_model"),
    output:
        directory("results/models/base"),
    params:
        tracked("prepare_model"),
    shell:
        STAGE.format("prepare_model")


rule prepare_data:
    input:
        VALIDATED,
        "src/attrctl/resources/prompts.jsonl",
        code("prepare_data"),
    output:
        "results/data/prompts_train.jsonl",
        "results/data/prompts_eval.jsonl",
    params:
        tracked("prepare_data"),
    shell:
        STAGE.format("prepare_data")
