"""The nado stages' CLIs: `python -m attrctl.nado.stages.<stage>`."""
