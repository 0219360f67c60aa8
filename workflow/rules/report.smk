rule report:
    input:
        VALIDATED,
        expand("results/metrics/{model}/toxicity.json", model=MODELS),
        expand("results/metrics/{model}/lm_eval.json", model=MODELS),
        expand("results/annotations/{model}/eval.jsonl", model=MODELS),
        expand("results/metrics/nado/{name}.json", name=NADOS),
        expand("results/metrics/{model}/train.json", model=TRAINED),
        SCHEDULE_SAMPLES,
        expand("results/metrics/{model}/tnt.json", model=["base", *TNT_MODELS] if TNT_MODELS else []),
        code("report"),
    output:
        "results/tables/toxicity.md",
        "results/tables/toxicity.csv",
        "results/tables/detox.md",
        "results/tables/detox.csv",
        "results/tables/nado.md",
        "results/tables/nado.csv",
        "results/tables/classification.md",
        "results/tables/classification.csv",
        "results/tables/efficiency.md",
        "results/tables/efficiency.csv",
        "results/tables/tnt.md",
        "results/tables/tnt.csv",
        "results/plots/tradeoff.png",
        "results/plots/toxicity_hist.png",
        "results/plots/nado_reg_kl.png",
        "results/plots/tnt_tradeoff.png",
        "results/README.md",
    params:
        tracked("report"),
    shell:
        STAGE.format("report")
