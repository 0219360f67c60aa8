# attrctl: `snakemake --cores N` runs the whole pipeline on params.yaml (see README.md).
# No logic here: rules live in workflow/rules/, paths in src/attrctl/pipeline/paths.py, stage code in
# src/attrctl/stages/.
configfile: "params.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/prepare.smk"
include: "workflow/rules/toxicity.smk"
include: "workflow/rules/nado.smk"
include: "workflow/rules/finetune.smk"
include: "workflow/rules/tnt.smk"
include: "workflow/rules/l3m.smk"
include: "workflow/rules/dglm.smk"
include: "workflow/rules/benchmarks.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        paths.table("detox", "md"),
