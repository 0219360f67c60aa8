"""Build DGLM's data: (prompt, continuation) pairs of the base model's samples of train prompts and of the
corpus, their latents under the frozen sentence encoder (dglm.encoder), and their attribute labels (toxicity:
the oracle's verdict; sentiment: VADER, offline).

Options:
  --samples PATH  input: the base model's annotated samples of train prompts (.jsonl)
  --corpus PATH   input: the fine-tuning corpus (.jsonl)
  --out PATH      output: pairs.jsonl and latents.npz (directory)
"""

from __future__ import annotations

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args, cfg = cli.start(cli.parser(__doc__, __spec__), argv)
    from attrctl import runtime
    from attrctl.dglm import data
    from attrctl.dglm.guidance import sentiment_labels
    from attrctl.io import atomic_path, read_jsonl
    from attrctl.oracles.embedding import Encoder

    runtime.setup_torch(cfg.runtime, cfg.seed)
    rows = data.pairs(read_jsonl(args.samples), read_jsonl(args.corpus), cfg.dglm.heldout_fraction, cfg.seed)
    for row, label in zip(rows, sentiment_labels([r["text"] for r in rows]), strict=True):
        row["labels"]["sentiment"] = label
    arrays = data.encode(Encoder(cfg.dglm.encoder), rows)
    with atomic_path(args.out, directory=True) as tmp:
        data.save(tmp, rows, arrays)
    generative = sum(r["generative"] for r in rows)
    print(f"{len(rows)} pairs ({generative} generative), latents {arrays['latent'].shape[1]}-d")


if __name__ == "__main__":
    main()
