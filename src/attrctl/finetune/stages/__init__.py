"""The finetune stages' CLIs: `python -m attrctl.finetune.stages.<stage>`."""
