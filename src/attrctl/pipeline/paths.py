"""Every path the pipeline reads or writes, in one table of patterns.

The Snakemake rules call these with wildcards (`samples("{model}", "{split}")`), the helpers in
`attrctl.pipeline.rules` with concrete names; the stages receive their paths as arguments and build none.
"""

from __future__ import annotations

RESULTS = "results"
VALIDATED = f"{RESULTS}/validated_params.txt"
EMBEDDED_PROMPTS = "src/attrctl/resources/prompts.jsonl"
TOXIGEN_STATEMENTS = "src/attrctl/resources/toxigen/statements.jsonl"
ORACLE_EXTRA = "src/attrctl/resources/oracle_extra.jsonl"
CORPUS = f"{RESULTS}/data/corpus.jsonl"
CORPUS_HELDOUT = f"{RESULTS}/data/corpus_heldout.jsonl"
TNT_DATA = f"{RESULTS}/data/tnt_train.jsonl"
CLS_ITEMS = f"{RESULTS}/data/toxicity_cls_eval.jsonl"  # workflow/lm_eval_tasks/attrctl_toxicity_cls.yaml reads it
ORACLE = f"{RESULTS}/oracle"
TASK_DIR = "workflow/lm_eval_tasks"
README = f"{RESULTS}/README.md"
SUMMARY = f"{RESULTS}/metrics.json"  # every table number, model -> metric: DVC's `metrics:` (dvc metrics show)
BENCHMARKS = f"{RESULTS}/benchmarks"

PLOT_DATA = ("training", "reliability")


def model(name: str = "{model}") -> str:
    """A model directory (safetensors + tokenizer), or a guided one holding `guided.json`."""
    return f"{RESULTS}/models/{name}"


def prompts(split: str = "{split}") -> str:
    return f"{RESULTS}/data/prompts_{split}.jsonl"


def samples(model: str = "{model}", split: str = "{split}") -> str:
    return f"{RESULTS}/samples/{model}/{split}.jsonl"


def annotations(model: str = "{model}", split: str = "{split}") -> str:
    return f"{RESULTS}/annotations/{model}/{split}.jsonl"


def metrics(model: str = "{model}", name: str = "{name}") -> str:
    return f"{RESULTS}/metrics/{model}/{name}.json"


def nado(name: str = "{schedule}_iter{k}") -> str:
    return f"{RESULTS}/nado/{name}"


def dglm(part: str) -> str:
    """DGLM's trained parts, shared by every DGLM run: data (pairs and latents), classifiers.json, diffusion,
    decoder."""
    return f"{RESULTS}/dglm/{part}"


DGLM_METRICS = "dglm-parts"  # results/metrics/dglm-parts/<part>.json (a name no model can have)


def table(name: str, ext: str, root: str = RESULTS) -> str:
    return f"{root}/tables/{name}.{ext}"


def plot(name: str, root: str = RESULTS) -> str:
    return f"{root}/plots/{name}.png"


def plot_data(name: str, root: str = RESULTS) -> str:
    """A CSV that DVC's `plots:` draws (training curves, reliability bins)."""
    return f"{root}/plots/{name}.csv"


def experiment(name: str) -> str:
    """Where one paper's tables go when its experiment runs alone (`snakemake nado`)."""
    return f"{RESULTS}/experiments/{name}"


def log(rule: str, name: str = "") -> str:
    return f"{RESULTS}/logs/{rule}{'/' + name if name else ''}.log"


def benchmark(rule: str, name: str = "") -> str:
    """Snakemake's per-job benchmark (wall time, peak memory); the efficiency table reads them when present."""
    return f"{RESULTS}/benchmarks/{rule}{'/' + name if name else ''}.tsv"


def checkpoints(name: str) -> str:
    """Resumable training state: not a declared output, so neither Snakemake nor DVC deletes it on a failure."""
    return f"{RESULTS}/checkpoints/{name}"
