"""DGLM, diffusion-guided language modelling (Lovelace et al. 2024): latent proposals, a soft-prompt decoder,
and plug-and-play attribute control by linear classifiers on the latent."""
