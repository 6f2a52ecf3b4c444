"""Retrieval benchmark parts: the plain baselines and verirag's own retrievers on one set."""
