# DExperts: the expert and anti-expert fine-tunes, and the dexperts / dexperts_a<α> model directories (sampling,
# annotation, evaluation and benchmarks are the shared rules'). `snakemake --cores 2 dexperts` runs the experiment.
from attrctl.dexperts.method import MODEL as DEXPERTS



rule dexperts_expert:
    input:
        paths.VALIDATED,
        data=paths.CORPUS,
        base=paths.model("base"),
        code=job_code("dexperts_expert"),
        sources=job_sources(config, "dexperts_expert"),
    output:
        model=directory(paths.model("dexperts_{role}")),
        metrics=paths.metrics("dexperts_{role}", "train"),
    params:
        job_params(config, "dexperts_expert"),
        checkpoints=lambda wc: paths.checkpoints(f"dexperts-{wc.role}"),
    wildcard_constraints:
        role="expert|anti",
    log:
        paths.log("dexperts_expert", "{role}"),
    benchmark:
        paths.benchmark("dexperts_expert", "{role}"),
    threads: THREADS
    resources:
        gpu=GPU,
    shell:
        command("dexperts_expert")
        + " --name dexperts_{wildcards.role} --data {input.data} --base {input.base}"
        + " --checkpoints {params.checkpoints} --out {output.model} --metrics {output.metrics}"


rule dexperts_model:
    input:
        paths.VALIDATED,
        base=paths.model("base"),
        expert=paths.model("dexperts_expert"),
        anti=paths.model("dexperts_anti"),
        code=job_code("dexperts_model"),
        sources=job_sources(config, "dexperts_model"),
    output:
        model=directory(paths.model("{model}")),
    params:
        job_params(config, "dexperts_model"),
    wildcard_constraints:
        model=DEXPERTS.pattern,
    log:
        paths.log("dexperts_model", "{model}"),
    benchmark:
        paths.benchmark("dexperts_model", "{model}"),
    threads: THREADS
    shell:
        command("dexperts_model")
        + " --name {wildcards.model} --base {input.base} --expert {input.expert} --anti {input.anti}"
        + " --out {output.model}"
