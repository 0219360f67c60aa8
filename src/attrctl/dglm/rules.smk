# DGLM: its data (pairs, latents, labels), attribute classifiers, diffusion model and decoder, trained once, and
# the guided directory of every DGLM run (dglm.runs), which the shared sample rule samples.
# `snakemake --cores 2 dglm` runs the experiment alone.
from attrctl.dglm.method import DGLM_RUN



rule dglm_data:
    input:
        paths.VALIDATED,
        samples=paths.annotations("base", "train1"),
        corpus=paths.CORPUS,
        code=job_code("dglm_data"),
        sources=job_sources(config, "dglm_data"),
    output:
        data=directory(paths.dglm("data")),
    params:
        job_params(config, "dglm_data"),
    log:
        paths.log("dglm_data"),
    benchmark:
        paths.benchmark("dglm_data"),
    threads: THREADS
    shell:
        command("dglm_data") + " --samples {input.samples} --corpus {input.corpus} --out {output.data}"


rule dglm_classifiers:
    input:
        paths.VALIDATED,
        data=paths.dglm("data"),
        code=job_code("dglm_classifiers"),
        sources=job_sources(config, "dglm_classifiers"),
    output:
        classifiers=paths.dglm("classifiers.json"),
        metrics=paths.metrics(paths.DGLM_METRICS, "classifiers"),
    params:
        job_params(config, "dglm_classifiers"),
    log:
        paths.log("dglm_classifiers"),
    benchmark:
        paths.benchmark("dglm_classifiers"),
    threads: THREADS
    shell:
        command("dglm_classifiers") + " --data {input.data} --out {output.classifiers} --metrics {output.metrics}"


rule dglm_diffusion:
    input:
        paths.VALIDATED,
        data=paths.dglm("data"),
        code=job_code("dglm_diffusion"),
        sources=job_sources(config, "dglm_diffusion"),
    output:
        model=directory(paths.dglm("diffusion")),
        metrics=paths.metrics(paths.DGLM_METRICS, "diffusion"),
    params:
        job_params(config, "dglm_diffusion"),
        checkpoints=paths.checkpoints("dglm-diffusion"),
    log:
        paths.log("dglm_diffusion"),
    benchmark:
        paths.benchmark("dglm_diffusion"),
    threads: THREADS
    resources:
        gpu=GPU,
    shell:
        command("dglm_diffusion")
        + " --name dglm_diffusion --data {input.data} --checkpoints {params.checkpoints} --out {output.model}"
        + " --metrics {output.metrics}"


rule dglm_decoder:
    input:
        paths.VALIDATED,
        data=paths.dglm("data"),
        base=paths.model("base"),
        code=job_code("dglm_decoder"),
        sources=job_sources(config, "dglm_decoder"),
    output:
        model=directory(paths.dglm("decoder")),
        metrics=paths.metrics(paths.DGLM_METRICS, "decoder"),
    params:
        job_params(config, "dglm_decoder"),
        checkpoints=paths.checkpoints("dglm-decoder"),
    log:
        paths.log("dglm_decoder"),
    benchmark:
        paths.benchmark("dglm_decoder"),
    threads: THREADS
    resources:
        gpu=GPU,
    shell:
        command("dglm_decoder")
        + " --name dglm_decoder --data {input.data} --base {input.base} --checkpoints {params.checkpoints}"
        + " --out {output.model} --metrics {output.metrics}"


rule dglm_model:
    input:
        paths.VALIDATED,
        base=paths.model("base"),
        data=paths.dglm("data"),
        diffusion=paths.dglm("diffusion"),
        decoder=paths.dglm("decoder"),
        classifiers=paths.dglm("classifiers.json"),
        code=job_code("dglm_model"),
        sources=job_sources(config, "dglm_model"),
    output:
        model=directory(paths.model("{model}")),
    wildcard_constraints:
        model=DGLM_RUN.pattern,
    params:
        job_params(config, "dglm_model"),
    log:
        paths.log("dglm_model", "{model}"),
    benchmark:
        paths.benchmark("dglm_model", "{model}"),
    threads: THREADS
    shell:
        command("dglm_model")
        + " --name {wildcards.model} --base {input.base} --data {input.data} --diffusion {input.diffusion}"
        + " --decoder {input.decoder} --classifiers {input.classifiers} --out {output.model}"
