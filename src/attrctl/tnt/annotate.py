"""Token-level negative annotations for TNT (docs/methods.md, TNT): which tokens of a flagged sample made it
flagged.

Words are found with the linear oracle's own token pattern; a word's evidence is either its contribution to the
linear oracle's decision (tf-idf weight × coefficient; the embedded `profanity_check` oracle is a linear SVM
over word features) or, for any oracle, how much the score drops when the word is left out. Words with
positive evidence of at least `fraction` × the sample's strongest evidence are flagged, and mapped to the tokens
whose characters overlap them.
"""

from __future__ import annotations

import re

import numpy as np

WORD = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token pattern, used by profanity_check
VARIANTS = ("first", "all_flagged", "all_tokens")


def word_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in WORD.finditer(text)]


def linear_evidence(vectorizer, coef: np.ndarray, text: str, spans: list[tuple[int, int]]) -> list[float]:
    """Each word's contribution x_w · coef_w to a linear classifier over tf-idf word features."""
    x = vectorizer.transform([text])
    vocab = vectorizer.vocabulary_
    out = []
    for start, end in spans:
        index = vocab.get(text[start:end].lower())
        out.append(float(x[0, index] * coef[index]) if index is not None else 0.0)
    return out


def leave_one_out_evidence(score, text: str, spans: list[tuple[int, int]]) -> list[float]:
    """Score drop when each word is removed: score(text) − score(text without the word), for any oracle."""
    variants = [text[:s] + text[e:] for s, e in spans]
    scores = score([text, *variants])
    return [scores[0] - s for s in scores[1:]]


def flagged(evidence: list[float], fraction: float) -> list[int]:
    """Indices of words with positive evidence of at least `fraction` of the strongest."""
    top = max(evidence, default=0.0)
    return [i for i, e in enumerate(evidence) if e > 0 and e >= fraction * top] if top > 0 else []


def token_spans(tokenizer, token_ids: list[int]) -> list[tuple[int, int]]:
    """Character span of each token in `tokenizer.decode(token_ids)` (decoding prefixes: exact for any tokenizer)."""
    spans, end = [], 0
    for i in range(len(token_ids)):
        new_end = len(tokenizer.decode(token_ids[: i + 1], skip_special_tokens=True))
        spans.append((end, new_end))
        end = new_end
    return spans


def negative_tokens(tok_spans: list[tuple[int, int]], words: list[tuple[int, int]]) -> list[int]:
    """Tokens whose characters overlap a flagged word."""
    return [i for i, (s, e) in enumerate(tok_spans) if any(s < we and ws < e for ws, we in words)]


def token_weights(n_tokens: int, negatives: list[int], variant: str) -> list[int]:
    """+1 (keep) / −1 (negative) per token: `first` negative token only, `all_flagged` tokens, or `all_tokens`
    of a sample that has any negative."""
    if not negatives:
        return [1] * n_tokens
    if variant == "all_tokens":
        return [-1] * n_tokens
    chosen = set(negatives[:1] if variant == "first" else negatives)
    return [-1 if i in chosen else 1 for i in range(n_tokens)]


class Annotator:
    """Negative tokens for oracle-flagged samples, by the linear oracle's word contributions or leave-one-out."""

    def __init__(self, oracle, tokenizer, mechanism: str, fraction: float):
        self.oracle, self.tokenizer, self.fraction = oracle, tokenizer, fraction
        self.mechanism = mechanism
        if mechanism == "linear":
            if not hasattr(oracle, "vectorizer"):
                raise ValueError("tnt.mechanism 'linear' needs a linear word-feature oracle (profanity_check)")
            estimators = oracle.model.calibrated_classifiers_
            self.coef = np.mean([c.estimator.coef_[0] for c in estimators], axis=0)

    def __call__(self, text: str, token_ids: list[int]) -> tuple[list[str], list[int]]:
        """(flagged words, indices of negative tokens)."""
        spans = word_spans(text)
        if self.mechanism == "linear":
            evidence = linear_evidence(self.oracle.vectorizer, self.coef, text, spans)
        else:
            evidence = leave_one_out_evidence(self.oracle.score, text, spans)
        words = [spans[i] for i in flagged(evidence, self.fraction)]
        negatives = negative_tokens(token_spans(self.tokenizer, token_ids), words)
        return [text[s:e] for s, e in words], negatives
