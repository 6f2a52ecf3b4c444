"""Language-aware text helpers shared by chunking and search (Chinese and English)."""
