"""What Snakemake and DVC share: the path table, the rules' helpers and the dvc.yaml generator."""
