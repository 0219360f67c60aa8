"""What every stage CLI shares: the argument parser and validated config loading."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from attrctl.config import Config, ConfigError, load
from attrctl.runtime import prepare_env


def parser(doc: str | None) -> argparse.ArgumentParser:
    lines = (doc or "").strip().splitlines()
    p = argparse.ArgumentParser(
        description=lines[0] if lines else None,
        epilog="\n".join(lines[1:]).strip() or None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--params",
        type=Path,
        default=Path("params.yaml"),
        help="params file (default: params.yaml in the current directory)",
    )
    return p


def start(params: Path) -> Config:
    """Validate params (exit 2 with the message on error) and prepare the process environment."""
    try:
        cfg = load(params)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    prepare_env(cfg.runtime)
    return cfg
