"""The l3m stages' CLIs: `python -m attrctl.l3m.stages.<stage>`."""
