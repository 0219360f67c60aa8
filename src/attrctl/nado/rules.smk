# NADO_k of each schedule (inputs from attrctl.finetune.schedule), and nado_decode: the base model guided by NADO_1.
from attrctl.finetune.method import nado_inputs



rule train_nado:
    input:
        paths.VALIDATED,
        unpack(lambda wc: nado_inputs(wc.schedule, int(wc.k), config["nado_reg"]["iterations"])),
        code=job_code("train_nado"),
        sources=job_sources(config, "train_nado"),
    output:
        nado=directory(paths.nado()),
        metrics=paths.metrics("nado", "{schedule}_iter{k}"),
        plot=report(paths.plot("nado_reliability_{schedule}_iter{k}"), category="NADO reliability"),
    params:
        job_params(config, "train_nado"),
        warm=lambda wc: flag(nado_inputs(wc.schedule, int(wc.k), config["nado_reg"]["iterations"]), "warm", "--warm-start"),
        checkpoints=lambda wc: paths.checkpoints(f"nado-{wc.schedule}_iter{wc.k}"),
    wildcard_constraints:
        schedule="sequential|parallel",
        k=r"\d+",
    log:
        paths.log("train_nado", "{schedule}_iter{k}"),
    benchmark:
        paths.benchmark("train_nado", "{schedule}_iter{k}"),
    threads: THREADS
    resources:
        gpu=GPU,
    priority: priority
    shell:
        command("train_nado")
        + " --name {wildcards.schedule}_iter{wildcards.k} --model {input.model} --train {input.train}"
        + " --heldout {input.heldout} {params.warm} --checkpoints {params.checkpoints}"
        + " --out {output.nado} --metrics {output.metrics} --plot {output.plot}"


rule nado_decode:
    input:
        paths.VALIDATED,
        base=paths.model("base"),
        nado=paths.nado("sequential_iter1"),
        code=job_code("nado_decode"),
        sources=job_sources(config, "nado_decode"),
    output:
        model=directory(paths.model("nado_decode")),
    params:
        job_params(config, "nado_decode"),
    log:
        paths.log("nado_decode"),
    benchmark:
        paths.benchmark("nado_decode"),
    threads: THREADS
    shell:
        command("nado_decode") + " --base {input.base} --nado {input.nado} --out {output.model}"
