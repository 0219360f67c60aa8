"""One Targeted Negative Training update of the base model: tnt_<loss> at tnt.alpha, or tnt_<loss>_a<α>.

Flagged tokens are pushed to p0-without-that-token and every other token is kept at p0 (or at its likelihood),
by the loss the name gives (TNFF, TNRR, TNRF, TNFLL, TNRLL; baselines NL, UL). Checkpoints every N steps; a
killed run resumes where it stopped.
"""

from __future__ import annotations

from pathlib import Path

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    p = cli.parser(__doc__, __spec__)
    p.add_argument("--name", required=True, help="the model to make, e.g. tnt_tnrr or tnt_nl_a100")
    p.add_argument("--data", type=Path, required=True, help="input: TNT training examples (.jsonl)")
    p.add_argument("--base", type=Path, required=True, help="input: the base model p0")
    cli.training_arguments(p)
    args = p.parse_args(argv)
    cfg = cli.start(args)
    from attrctl import models, runtime, training
    from attrctl.batch import collate
    from attrctl.config import sections
    from attrctl.io import read_jsonl
    from attrctl.tnt import data
    from attrctl.tnt.losses import TNT
    from attrctl.tracking import stage_run

    loss, alpha = data.parse_name(args.name)
    with stage_run(cfg, args.params, "tnt_train", args.name, model=args.name, objective="tnt") as run:
        run.log_params({**sections(cfg, ["tnt", "seed"]), "loss": loss, "alpha": alpha or cfg.tnt.alpha})
        device = runtime.setup_torch(cfg.runtime, cfg.seed)
        precision = runtime.Precision(cfg.runtime, device)
        policy, tokenizer = models.load(args.base, device, trainable=True)
        original, _ = models.load(args.base, device, precision.frozen)  # frozen p0
        objective = TNT(original, loss, cfg.tnt.alpha if alpha is None else alpha, cfg.tnt.epsilon)
        examples = read_jsonl(args.data)
        run.log_input(args.data, "training")
        history = training.fit(
            policy,
            objective,
            examples,
            lambda b: collate(b, tokenizer.pad_token_id),
            cfg.tnt.train,
            cfg.seed,
            args.checkpoints,
            training.fingerprint(sections(cfg, ["tnt", "seed"]), args.name, args.data),
            desc=f"TNT {args.name}",
            precision=precision,
            on_step=run.log_step,
        )
        if not runtime.is_main_process():
            return
        metrics = cli.save_trained(run, args, policy, tokenizer, history, examples, cfg.tnt.train.epochs)
    cli.finished(args, metrics)


if __name__ == "__main__":
    main()
