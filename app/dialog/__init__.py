"""Turning a question into a grounded, cited answer (and, later, a multi-turn dialog)."""
