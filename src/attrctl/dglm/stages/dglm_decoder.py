"""Train DGLM's decoder: the soft-prompt generator and LoRA adapters on the base model, to reproduce each
continuation from its prompt and its (noise-augmented) latent, in the shared training loop. Checkpoints every N
steps; resumes after a kill.

Options:
  --name NAME  the component's name (MLflow run)
  --data PATH  input: DGLM's pairs and latents (directory)
  --base PATH  input: the base model
"""

from __future__ import annotations

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args, cfg = cli.start(cli.parser(__doc__, __spec__), argv)
    from attrctl import models, runtime, train_stage, training
    from attrctl.dglm import data, generate
    from attrctl.dglm import decoder as dec
    from attrctl.dglm.keywords import Keywords
    from attrctl.oracles.embedding import Encoder
    from attrctl.tracking import stage_run

    with stage_run(cfg, args.params, "dglm_decoder", args.name) as run:
        precision = runtime.setup_torch(cfg.runtime, cfg.seed)
        rows, arrays, examples = data.load_examples(args.data)
        lm, tokenizer = models.load(args.base, precision.device, trainable=True)
        m = cfg.dglm.soft_tokens
        keywords = Keywords.fit(examples, m) if cfg.dglm.keywords else None
        decoder = dec.build(lm, arrays["latent"].shape[1], m, cfg.dglm.lora_rank, cfg.model.lora_targets, keywords)
        job = train_stage.job(run, args, cfg, precision)
        pad = tokenizer.pad_token_id
        loss = dec.DecoderLoss(cfg.dglm.noise_train_min)
        history = training.fit(
            decoder,
            loss,
            examples,
            lambda b: dec.collate(b, pad, m, cfg.dglm.prompt_dropout),
            cfg.dglm.decoder_train,
            cfg.seed,
            job,
        )
        if not runtime.is_main_process():
            return
        decoder.eval()
        gain = dec.latent_gain(decoder, data.examples(rows, arrays, heldout=True), pad, cfg.seed)
        gain |= generate.follow(decoder, tokenizer, Encoder(cfg.dglm.encoder), rows, arrays, cfg)
        write = lambda tmp: dec.save(decoder, tmp, cfg.model.lora_targets)  # noqa: E731
        metrics = train_stage.save_component(run, args, write, history, examples, cfg.dglm.decoder_train.epochs, gain)
    train_stage.finished(args, metrics)


if __name__ == "__main__":
    main()
