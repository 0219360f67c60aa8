"""Make `nado_decode` a model like the others: a directory holding only guided.json, which names the base model,
the NADO (with its weights' hash, so a retrained NADO re-runs what depends on it) and δ."""

from __future__ import annotations

from pathlib import Path

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    p = cli.parser(__doc__, __spec__)
    p.add_argument("--base", type=Path, required=True, help="input: the base model's directory")
    p.add_argument("--nado", type=Path, required=True, help="input: the NADO's directory")
    p.add_argument("--out", type=Path, required=True, help="output: the guided model's directory")
    args = p.parse_args(argv)
    cfg = cli.start(args)
    from attrctl.io import atomic_path
    from attrctl.nado.decode import write_guided_dir

    with atomic_path(args.out, directory=True) as tmp:
        write_guided_dir(tmp, args.base, args.nado, cfg.nado.delta)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
