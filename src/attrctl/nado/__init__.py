"""NADO: the auxiliary model R, its training loss, the guided distribution q*, guided decoding, diagnostics."""
