"""DExperts (Liu et al., 2021): decoding the base model steered by an expert and an anti-expert,
z_base + α · (z_expert − z_anti)."""
