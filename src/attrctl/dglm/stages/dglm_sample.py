"""Sample continuations of the eval prompts with DGLM run NAME: proposals from the diffusion model, steered by
the attribute classifiers at the scales of dglm.runs[NAME] (none: unguided), decoded by the soft-prompt decoder.
Each sample row also holds `proposal_cosine`, the cosine between its proposal and the embedding of its text.

Options:
  --name NAME         the run (a key of dglm.runs)
  --base PATH         input: the base model (the decoder's LM)
  --data PATH         input: DGLM's pairs and latents (the latents' mean and std)
  --diffusion PATH    input: the diffusion model
  --decoder PATH      input: the decoder
  --classifiers PATH  input: the attribute classifiers (classifiers.json)
  --prompts PATH      input: eval prompts (.jsonl)
  --out PATH          output: samples (.jsonl)
  --timing PATH       output: wall time, tokens/s and seconds per continuation (.json)
"""

from __future__ import annotations

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args, cfg = cli.start(cli.parser(__doc__, __spec__), argv)
    if args.name not in cfg.dglm.runs:
        cli.fail(f"--name {args.name!r} is not a DGLM run: dglm.runs has {sorted(cfg.dglm.runs)}")
    from attrctl import models, runtime
    from attrctl.dglm import data, diffusion, generate
    from attrctl.dglm import decoder as dec
    from attrctl.io import read_json, read_jsonl, write_json, write_jsonl
    from attrctl.oracles.embedding import Encoder
    from attrctl.tracking import stage_run

    with stage_run(cfg, args.params, "dglm_sample", f"{args.name}/eval", model=args.name, split="eval") as run:
        run.log_params({"guidance": cfg.dglm.runs[args.name]})
        precision = runtime.setup_torch(cfg.runtime, cfg.seed)
        _, arrays = data.load(args.data)
        dim, cond_dim = arrays["latent"].shape[1], arrays["cond"].shape[1]
        lm, tokenizer = models.load(args.base, precision.device, trainable=True)  # fp32, adapters merged into it
        decoder = dec.load(args.decoder, lm, dim, cfg.dglm.soft_tokens, cfg.dglm.lora_rank)
        denoiser = diffusion.load(args.diffusion, dim, cond_dim, cfg.dglm.denoiser)
        rows, timing = generate.run(
            args.name, read_jsonl(args.prompts), cfg, Encoder(cfg.dglm.encoder), denoiser, decoder, tokenizer,
            arrays, read_json(args.classifiers),
        )  # fmt: skip
        write_jsonl(args.out, rows)
        write_json(args.timing, timing)
        run.log_metrics(timing)
    print("  ".join(f"{k}={v:.4g}" for k, v in timing.items()))


if __name__ == "__main__":
    main()
