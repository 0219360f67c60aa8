"""Train the embedding oracle: logistic regression on sentence embeddings of labelled statements.

Training texts: one half of the ToxiGen statements (hateful vs neutral, 8 groups) plus project-written explicit
insults and benign sentences (resources/oracle_extra.jsonl). The other half of the statements is held out; its
AUROC (here) and, from the held-out scores written beside it, accuracy and the share flagged at oracle.threshold
(the report) are the oracle's table.

Options:
  --statements PATH  input: ToxiGen statements (.jsonl)
  --extra PATH       input: further labelled texts (.jsonl)
  --out PATH         output: the oracle's directory
  --metrics PATH     output: held-out metrics (.json)
"""

from __future__ import annotations

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args, cfg = cli.start(cli.parser(__doc__, __spec__), argv)
    import numpy as np

    from attrctl import runtime, toxigen
    from attrctl.io import atomic_path, read_jsonl, write_json
    from attrctl.oracles import embedding
    from attrctl.stats import auroc, auroc_ci
    from attrctl.tracking import stage_run

    runtime.setup_torch(cfg.runtime, cfg.seed)
    with stage_run(cfg, args.params, "train_oracle", "embedding") as run:
        run.log_input(args.statements, "training")
        run.log_input(args.extra, "training")
        train, heldout = toxigen.split(toxigen.load(args.statements), cfg.seed)
        train += read_jsonl(args.extra)
        encoder = embedding.Encoder(cfg.oracle.embedding.encoder)
        features, labels = encoder([t["text"] for t in train]), np.array([t["label"] for t in train])
        coef, intercept = embedding.fit(features, labels, cfg.oracle.embedding.c, cfg.seed)
        with atomic_path(args.out, directory=True) as tmp:
            embedding.save(tmp, cfg.oracle.embedding.encoder, coef, intercept)
        scores = np.array(embedding.EmbeddingOracle(args.out).score([s["text"] for s in heldout]))
        labels = np.array([s["label"] for s in heldout])
        lo, hi = auroc_ci(scores, labels, cfg.seed)
        metrics = {
            "oracle_heldout_auroc": auroc(scores, labels),
            "oracle_heldout_auroc_ci_lo": lo,
            "oracle_heldout_auroc_ci_hi": hi,
            "oracle_train_texts": len(train),
            "oracle_heldout_statements": len(heldout),
            # the shares at oracle.threshold are the report's: a new threshold must not retrain the oracle
            "heldout_scores": scores.tolist(),
            "heldout_labels": labels.tolist(),
        }
        write_json(args.metrics, metrics)
        run.log_metrics(metrics)
        run.log_model(args.out, "oracle")
    print("  ".join(f"{k}={v:.4g}" for k, v in metrics.items() if not isinstance(v, list)))


if __name__ == "__main__":
    main()
