"""The llama.cpp generation engine: the pack's GGUF served directly, chats batched."""

from app.models.llamacpp.generator import EngineOptions, LlamaCppGenerator

__all__ = ["EngineOptions", "LlamaCppGenerator"]
