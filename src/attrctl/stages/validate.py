"""Validate params.yaml before any work.

The first job of every run: every other stage depends on its marker file, so a bad value stops the pipeline
before anything is written. The marker's content never changes, so re-validating re-runs nothing downstream.
"""

from __future__ import annotations

import yaml

from attrctl import paths
from attrctl.config import ConfigError
from attrctl.io import write_text
from attrctl.stages import cli
from attrctl.workflow import check_complete

MARKER = "params validated\n"


def main(argv: list[str] | None = None) -> None:
    args = cli.parser(__doc__).parse_args(argv)
    cli.start(args.params)
    try:
        check_complete(yaml.safe_load(args.params.read_text()), str(args.params))
    except ConfigError as err:
        raise SystemExit(f"error: {err}") from None
    # Rewrite only when missing: a new mtime would make Snakemake re-run everything downstream.
    if not paths.VALIDATED.is_file() or paths.VALIDATED.read_text() != MARKER:
        write_text(paths.VALIDATED, MARKER)
    print(f"{args.params}: ok")


if __name__ == "__main__":
    main()
