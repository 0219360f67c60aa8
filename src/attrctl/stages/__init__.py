"""One thin CLI per pipeline stage: `python -m attrctl.stages.<stage> --params params.yaml [inputs] [outputs]`."""
