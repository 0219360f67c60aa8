"""Targeted Negative Training: token-level negatives, the TNT losses and their baselines, fidelity measures."""
