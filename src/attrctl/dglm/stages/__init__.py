"""The dglm stages' CLIs: `python -m attrctl.dglm.stages.<stage>`."""
