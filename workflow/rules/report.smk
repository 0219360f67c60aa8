rule report:
    input:
        VALIDATED,
        expand("results/metrics/{model}/toxicity.json", model=config["models"]),
        code("report"),
    output:
        "results/tables/toxicity.md",
        "results/tables/toxicity.csv",
    params:
        tracked("report"),
    shell:
        STAGE.format("report")
