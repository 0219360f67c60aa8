"""Training objectives: each maps a collated batch to (loss, logs); the loop in attrctl.training is shared."""
