"""Train DGLM's diffusion model: v-prediction of the continuation's latent given the prompt's embedding, with
the condition dropped at dglm.cond_dropout (classifier-free guidance), in the shared training loop.
Checkpoints every N steps; resumes after a kill.

Options:
  --name NAME  the component's name (MLflow run)
  --data PATH  input: DGLM's pairs and latents (directory)
"""

from __future__ import annotations

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args, cfg = cli.start(cli.parser(__doc__, __spec__), argv)
    from attrctl import runtime, train_stage, training
    from attrctl.dglm import data, diffusion
    from attrctl.tracking import stage_run

    with stage_run(cfg, args.params, "dglm_diffusion", args.name) as run:
        precision = runtime.setup_torch(cfg.runtime, cfg.seed)
        _, arrays, examples = data.load_examples(args.data)
        model = diffusion.Denoiser(arrays["latent"].shape[1], arrays["cond"].shape[1], cfg.dglm.denoiser)
        job = train_stage.job(run, args, cfg, precision)
        loss = diffusion.DiffusionLoss(cfg.dglm.cond_dropout)
        history = training.fit(model, loss, examples, diffusion.collate, cfg.dglm.diffusion_train, cfg.seed, job)
        if not runtime.is_main_process():
            return
        metrics = train_stage.save_component(
            run, args, lambda tmp: diffusion.save(model, tmp), history, examples, cfg.dglm.diffusion_train.epochs
        )
    train_stage.finished(args, metrics)


if __name__ == "__main__":
    main()
