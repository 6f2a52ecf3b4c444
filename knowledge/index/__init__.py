"""Search indexes over chunk text keyed by chunk id: BM25 (keyword), FAISS (dense), fusion.

Indexes are derived data: SQL holds the chunks, and every index file records the SQL revision it
was built from so a stale one is detected and rebuilt rather than trusted.
"""
