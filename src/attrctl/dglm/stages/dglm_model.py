"""Make DGLM run NAME a model like the others: a directory holding only guided.json, which names DGLM's parts
(with their weights' hashes, so a retrained part re-runs the run's sampling), the run's guidance scales
dglm.runs[NAME] and the dglm.* settings its sampler reads. The shared sample stage samples it.

Options:
  --name NAME         the run (a key of dglm.runs)
  --base PATH         input: the base model (the decoder's LM)
  --data PATH         input: DGLM's pairs and latents (the latents' mean and std)
  --diffusion PATH    input: the diffusion model
  --decoder PATH      input: the decoder
  --classifiers PATH  input: the attribute classifiers (classifiers.json)
  --out PATH          output: the run's model directory
"""

from __future__ import annotations

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args, cfg = cli.start(cli.parser(__doc__, __spec__), argv)
    if args.name not in cfg.dglm.runs:
        cli.fail(f"--name {args.name!r} is not a DGLM run: dglm.runs has {sorted(cfg.dglm.runs)}")
    from attrctl.dglm.decode import write_guided_dir
    from attrctl.io import atomic_path

    with atomic_path(args.out, directory=True) as tmp:
        write_guided_dir(
            tmp, args.name, cfg.dglm, base=args.base, data_dir=args.data, diffusion_dir=args.diffusion,
            decoder_dir=args.decoder, classifiers=args.classifiers,
        )  # fmt: skip
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
