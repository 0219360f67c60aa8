"""Oracles that come trained: the embedded profanity classifier, any HF classifier, Detoxify, Perspective."""

from __future__ import annotations

import os
import time

from attrctl.oracles import encoded_batches


class ProfanityCheck:
    """The linear SVM shipped inside `alt-profanity-check` (no download). It measures profanity, not toxicity
    in general: implicit hate without swear words scores low."""

    name = "profanity_check"

    def __init__(self) -> None:
        from profanity_check import profanity_check as pc

        self.vectorizer, self.model = pc.vectorizer, pc.model

    def score(self, texts: list[str]) -> list[float]:
        if not texts:
            return []
        return self.model.predict_proba(self.vectorizer.transform(texts))[:, 1].tolist()


class HFClassifier:
    """Any HF sequence-classification model (e.g. a RoBERTa toxicity classifier), batched."""

    name = "hf_classifier"

    def __init__(self, model: str, toxic_label: str, batch_size: int) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from attrctl.runtime import trust_remote_code

        self.torch = torch
        remote = trust_remote_code()
        self.tokenizer = AutoTokenizer.from_pretrained(model, trust_remote_code=remote)
        self.model = AutoModelForSequenceClassification.from_pretrained(model, trust_remote_code=remote).eval()
        self.batch_size = batch_size
        self.index = self._label_index(toxic_label)

    def _label_index(self, toxic_label: str) -> int:
        labels = {str(v).lower(): int(k) for k, v in self.model.config.id2label.items()}
        if toxic_label.lower() in labels:
            return labels[toxic_label.lower()]
        if toxic_label.isdigit() and int(toxic_label) < self.model.config.num_labels:
            return int(toxic_label)
        raise ValueError(f"oracle.hf_toxic_label = {toxic_label!r} is not a label of this model: {sorted(labels)}")

    def score(self, texts: list[str]) -> list[float]:
        scores: list[float] = []
        with self.torch.inference_mode():
            for _, output in encoded_batches(self.tokenizer, self.model, texts, self.batch_size, 512):
                logits = output.logits.float()
                multi = self.model.config.problem_type == "multi_label_classification" or logits.shape[-1] == 1
                probs = logits.sigmoid() if multi else logits.softmax(-1)
                scores += probs[:, min(self.index, probs.shape[-1] - 1)].tolist()
        return scores


class Detoxify:
    name = "detoxify"

    def __init__(self, variant: str) -> None:
        try:
            from detoxify import Detoxify as _Detoxify
        except ImportError:
            raise RuntimeError(
                "oracle 'detoxify' needs the `detoxify` package (pip install detoxify) "
                "and its checkpoint (downloaded on first use, or in the HF cache offline)"
            ) from None
        self.model = _Detoxify(variant)

    def score(self, texts: list[str]) -> list[float]:
        return [float(s) for s in self.model.predict(texts)["toxicity"]] if texts else []


class Perspective:
    """Perspective API TOXICITY summary score. The key is read from the environment and sent in a request
    header; errors are re-raised without the request, so the key reaches no traceback, log or file."""

    name = "perspective"
    URL = "https://commentanalyzer.googleapis.com/v1alpha1/comments:analyze"

    def __init__(self, key_env: str, qps: float = 1.0) -> None:
        self._key = os.environ.get(key_env)
        if not self._key:
            raise RuntimeError(f"oracle 'perspective' needs an API key in the environment variable {key_env}")
        self.interval = 1.0 / qps

    def request_body(self, text: str) -> dict:
        return {"comment": {"text": text}, "languages": ["en"], "requestedAttributes": {"TOXICITY": {}}}

    def score(self, texts: list[str]) -> list[float]:
        import requests

        scores = []
        for i, text in enumerate(texts):
            try:
                resp = requests.post(
                    self.URL, headers={"x-goog-api-key": self._key}, json=self.request_body(text), timeout=30
                )
                resp.raise_for_status()
                scores.append(resp.json()["attributeScores"]["TOXICITY"]["summaryScore"]["value"])
            except (requests.RequestException, KeyError, ValueError) as err:
                status = getattr(getattr(err, "response", None), "status_code", None)
                raise RuntimeError(
                    f"Perspective API failed on text {i}: {type(err).__name__}"
                    + (f" (HTTP {status})" if status else "")
                ) from None
            time.sleep(self.interval)
        return scores

    def __repr__(self) -> str:  # keep the key out of logs and tracebacks
        return "Perspective(key=<hidden>)"
