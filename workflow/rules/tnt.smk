# Targeted Negative Training: data from the base model's own generations, and the TNT measures per model.
# (The TNT models themselves are made by the finetune rule: tnt_<loss> and tnt_<loss>_a<alpha>.)


rule tnt_data:
    input:
        VALIDATED,
        "results/annotations/base/train1.jsonl",
        "results/annotations/base/train1_greedy.jsonl",
        code("tnt_data"),
    output:
        "results/data/tnt_train.jsonl",
    params:
        tracked("tnt_data"),
    shell:
        STAGE.format("tnt_data")


rule tnt_eval:
    input:
        VALIDATED,
        "results/annotations/{model}/eval_greedy.jsonl",
        "results/annotations/base/eval_greedy.jsonl",
        "results/annotations/base/eval.jsonl",
        "results/models/{model}",
        "results/models/base",
        code("tnt_eval"),
    output:
        "results/metrics/{model}/tnt.json",
    params:
        tracked("tnt_eval"),
    resources:
        gpu=1,
    shell:
        STAGE.format("tnt_eval") + " --model {wildcards.model}"
