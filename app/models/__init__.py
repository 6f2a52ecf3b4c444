"""Model loading: where the default models live, and one cache of loaded models per process."""

from app.models.registry import ModelRegistry

__all__ = ["ModelRegistry"]
