# attrctl: `snakemake --cores N` runs the whole pipeline on params.yaml (see README.md).
# No logic here: the shared rules live in workflow/rules/, each method's in its package
# (src/attrctl/<method>/rules.smk, found through attrctl.methods), paths in src/attrctl/pipeline/paths.py, stage
# code in src/attrctl/stages/. params.yaml is read (and validated) by workflow/rules/common.smk.


include: "workflow/rules/common.smk"
include: "workflow/rules/prepare.smk"
include: "workflow/rules/toxicity.smk"
include: "workflow/rules/benchmarks.smk"
include: "workflow/rules/report.smk"


for _method in methods.registered():

    include: str(_method.rules)


rule all:
    default_target: True
    input:
        paths.table("detox", "md"),
