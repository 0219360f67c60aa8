"""Make `nado_decode` a model like the others: results/models/nado_decode/guided.json names the base model, the
NADO of iteration 1 (with its weights' hash, so a retrained NADO re-runs what depends on it) and δ."""

from __future__ import annotations

from attrctl import paths, schedule
from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args = cli.parser(__doc__).parse_args(argv)
    cfg = cli.start(args.params)
    from attrctl import guidance
    from attrctl.io import atomic_path

    with atomic_path(paths.model_dir("nado_decode"), directory=True) as tmp:
        guidance.write_guided_dir(
            tmp, paths.model_dir(paths.BASE), paths.nado_dir(schedule.nado("sequential", 1)), cfg.nado.delta
        )
    print(f"wrote {paths.model_dir('nado_decode')}")


if __name__ == "__main__":
    main()
