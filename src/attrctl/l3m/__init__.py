"""L3M: fine-tuning under average constraints with a relaxed log barrier (length and toxicity constraints)."""
