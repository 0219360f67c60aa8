"""One Targeted Negative Training update of the base model: tnt_<loss> at tnt.alpha, or tnt_<loss>_a<α>.

Flagged tokens are pushed to p0-without-that-token and every other token is kept at p0 (or at its likelihood),
by the loss the name gives (TNFF, TNRR, TNRF, TNFLL, TNRLL; baselines NL, UL). Checkpoints every N steps; a
killed run resumes where it stopped.

Options:
  --name NAME         the model to make, e.g. tnt_tnrr or tnt_nl_a100
  --data PATH         input: TNT training examples (.jsonl)
  --base PATH         input: the base model p0
"""

from __future__ import annotations

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args, cfg = cli.start(cli.parser(__doc__, __spec__), argv)
    import torch

    from attrctl import models, runtime, train_stage
    from attrctl.io import read_jsonl
    from attrctl.tnt import data
    from attrctl.tnt.losses import TNT
    from attrctl.tracking import stage_run

    loss, alpha = data.parse_name(args.name)
    with stage_run(cfg, args.params, "tnt_train", args.name, model=args.name, objective="tnt") as run:
        run.log_params({"loss": loss, "alpha": alpha or cfg.tnt.alpha})
        precision = runtime.setup_torch(cfg.runtime, cfg.seed)
        policy, tokenizer = models.load(args.base, precision.device, trainable=True)
        original, _ = models.load(args.base, precision.device, precision.frozen)  # frozen p0
        objective = TNT(original, loss, cfg.tnt.alpha if alpha is None else alpha, cfg.tnt.epsilon)
        examples = read_jsonl(args.data)
        run.log_input(args.data, "training")
        history = train_stage.fit_policy(
            run, args, cfg, policy, tokenizer, objective, examples, cfg.tnt.train, precision
        )
        if not runtime.is_main_process():
            return
        dtype = torch.bfloat16  # evaluated only, never trained further: half the bytes
        metrics = train_stage.save_trained(run, args, policy, tokenizer, history, examples, cfg.tnt.train.epochs, dtype)
    train_stage.finished(args, metrics)


if __name__ == "__main__":
    main()
