"""The shared stages' CLIs (`python -m attrctl.stages.<stage> --params params.yaml [inputs] [outputs]`) and what
every stage CLI shares (cli.py); each method's own stages live in its package, `attrctl.<method>.stages`."""
