"""Texts to token ids, as the model expects them: wherever a prompt, a corpus text or a continuation is
tokenised, it goes through here, so that a model whose tokenizer starts every sequence with `<s>` (Llama 2,
Mistral) sees it at the start of each sequence, and only there, and a model whose tokenizer adds nothing
(GPT-2, SmolLM2) sees nothing added."""

from __future__ import annotations

import weakref


def ids(tokenizer, text: str, start: bool) -> list[int]:
    """Token ids of `text`; with `start` (the text opens a sequence: a prompt), the tokenizer's own leading
    special tokens first. A continuation or target (`start=False`) gets none."""
    body = tokenizer(text, add_special_tokens=False).input_ids
    return prefix(tokenizer) + body if start else body


def prefix(tokenizer) -> list[int]:
    """The special tokens the tokenizer puts before every text (e.g. [<s>]; none for GPT-2), found once per
    tokenizer object (perplexity and the corpus encode thousands of texts with one)."""
    if tokenizer not in _PREFIXES:
        plain = tokenizer("a", add_special_tokens=False).input_ids
        full = tokenizer("a").input_ids
        at = next((i for i in range(len(full) - len(plain) + 1) if full[i : i + len(plain)] == plain), 0)
        _PREFIXES[tokenizer] = full[:at]
    return list(_PREFIXES[tokenizer])


_PREFIXES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
