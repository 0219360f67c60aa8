"""Train DGLM's attribute classifiers: one logistic regression per attribute (toxicity, sentiment) on the
standardised latents of the pairs, measured by AUROC on the pairs of held-out train prompts.

Options:
  --data PATH     input: DGLM's pairs and latents (directory)
  --out PATH      output: classifiers.json
  --metrics PATH  output: held-out AUROC per attribute (.json)
"""

from __future__ import annotations

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args, cfg = cli.start(cli.parser(__doc__, __spec__), argv)
    import numpy as np

    from attrctl.dglm import data
    from attrctl.dglm.guidance import WANTED, fit
    from attrctl.io import write_json
    from attrctl.tracking import stage_run

    with stage_run(cfg, args.params, "dglm_classifiers", "dglm_classifiers") as run:
        rows, arrays = data.load(args.data)
        heldout = np.array([r["heldout"] for r in rows])
        classifiers = {}
        for name in WANTED:
            labels = np.array([r["labels"][name] for r in rows])
            classifiers[name] = fit(arrays["latent"], labels, heldout, cfg.dglm.classifier_c, cfg.seed)
        metrics = {f"{n}/{k}": v for n, c in classifiers.items() for k, v in c.items() if k not in ("coef",)}
        run.log_metrics(metrics)
        write_json(args.out, classifiers)
        write_json(args.metrics, metrics)
    print("  ".join(f"{k}={v:.4g}" for k, v in metrics.items()))


if __name__ == "__main__":
    main()
