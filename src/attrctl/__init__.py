"""attrctl: attribute-constrained fine-tuning of language models, with detoxification as the case study."""

__version__ = "0.1.0"
