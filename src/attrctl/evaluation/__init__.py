"""Evaluation: the toxicity protocol, lm-eval benchmarks, bootstrap intervals, the paper tables and plots."""
