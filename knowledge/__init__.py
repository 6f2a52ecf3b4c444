"""The knowledge layer: documents in, cited passages out.

Loaders parse files into :class:`~knowledge.types.ParsedDocument`, redaction masks personal
data, chunking cuts citable :class:`~knowledge.types.ChunkDraft` pieces, the store keeps them in
SQL (the source of truth), and the indexes (FAISS, BM25) find them again. Nothing here imports
``app`` or any UI code.
"""
