"""Make `nado_decode` a model like the others: a directory holding only guided.json, which names the base model,
the NADO (with its weights' hash, so a retrained NADO re-runs what depends on it), δ and the decoding strength γ.

Options:
  --base PATH  input: the base model's directory
  --nado PATH  input: the NADO's directory
  --out PATH   output: the guided model's directory
"""

from __future__ import annotations

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args, cfg = cli.start(cli.parser(__doc__, __spec__), argv)
    from attrctl.io import atomic_path
    from attrctl.nado.decode import write_guided_dir

    with atomic_path(args.out, directory=True) as tmp:
        write_guided_dir(tmp, args.base, args.nado, cfg.nado.delta, cfg.nado.decode_strength)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
