"""Fine-tuning on the corpus: sft, filter, NADO-regularised fine-tuning (sequential, parallel, adaptive), RL."""
