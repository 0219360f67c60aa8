# NADO_k of each schedule (inputs from attrctl.schedule), and nado_decode: the base model guided by NADO_1.


rule train_nado:
    input:
        VALIDATED,
        nado_inputs,
        code("train_nado"),
    output:
        directory("results/nado/{schedule}_iter{k}"),
        "results/metrics/nado/{schedule}_iter{k}.json",
        "results/plots/nado_reliability_{schedule}_iter{k}.png",
    params:
        tracked("train_nado"),
    wildcard_constraints:
        schedule="sequential|parallel",
        k=r"\d+",
    resources:
        gpu=1,
    priority: schedule_priority
    shell:
        TRAIN_STAGE.format("train_nado") + " --schedule {wildcards.schedule} --iter {wildcards.k}"


rule nado_decode:
    input:
        VALIDATED,
        "results/models/base",
        "results/nado/sequential_iter1",
        code("nado_decode"),
    output:
        directory("results/models/nado_decode"),
    params:
        tracked("nado_decode"),
    shell:
        STAGE.format("nado_decode")
