"""DPO: direct preference optimisation on the base model's own samples, a clean one chosen over a flagged one."""
