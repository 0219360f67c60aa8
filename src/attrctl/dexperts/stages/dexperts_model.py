"""Make a DExperts model: a directory holding guided.json (base, expert, anti-expert, α and filter_p), which the
shared sample and benchmarks stages load through attrctl.dexperts.ensemble.

Options:
  --name NAME     the model: dexperts (α = dexperts.alpha) or dexperts_a<α>
  --base PATH     input: the base model
  --expert PATH   input: the expert
  --anti PATH     input: the anti-expert
  --out PATH      output: the model's directory
"""

from __future__ import annotations

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args, cfg = cli.start(cli.parser(__doc__, __spec__), argv)
    from attrctl.dexperts.ensemble import write_dir
    from attrctl.io import atomic_path

    alpha = cfg.dexperts.model_alpha(args.name)
    with atomic_path(args.out, directory=True) as tmp:
        write_dir(tmp, args.base, args.expert, args.anti, alpha, cfg.dexperts.filter_p)
    print(f"wrote {args.out}: α = {alpha:g}, filter_p = {cfg.dexperts.filter_p:g}")


if __name__ == "__main__":
    main()
