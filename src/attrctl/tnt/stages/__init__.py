"""The tnt stages' CLIs: `python -m attrctl.tnt.stages.<stage>`."""
