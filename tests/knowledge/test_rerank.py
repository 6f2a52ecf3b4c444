"""The optional cross-encoder stage, with a real (untrained-head) cross-encoder on local files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from app.models.locate import default_embedder
from app.services import Runtime
from knowledge.rerank import CrossEncoderReranker
from knowledge.retrieval import Retriever
from verirag.errors import ModelNotFound


@pytest.fixture(scope="module")
def cross_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cross-encoder built from the bundled MiniLM weights plus a seeded scoring head."""
    from sentence_transformers import CrossEncoder

    torch.manual_seed(0)
    model = CrossEncoder(str(default_embedder()), num_labels=1, local_files_only=True)
    target = tmp_path_factory.mktemp("cross-encoder")
    model.save(str(target))
    return target


def test_reranker_reorders_candidates_by_its_own_scores(runtime: Runtime,
                                                        cross_encoder_dir: Path) -> None:
    reranker = CrossEncoderReranker(cross_encoder_dir)
    plain = Retriever(runtime.resources.kb("medical")).search(
        "When is warfarin stopped before surgery?")
    reranked = Retriever(runtime.resources.kb("medical"), reranker=reranker).search(
        "When is warfarin stopped before surgery?")
    scores = [p.score for p in reranked.passages]
    assert scores == sorted(scores, reverse=True)
    fused_pool = Retriever(runtime.resources.kb("medical")).search(
        "When is warfarin stopped before surgery?",
        k=runtime.resources.pack("medical").retrieval.rerank_k)
    assert {p.chunk_id for p in reranked.passages} <= {p.chunk_id for p in fused_pool.passages}
    assert len(reranked.passages) == len(plain.passages)
    # the answer decision still sees a first-stage cosine for every passage shown
    assert all(-1.0 <= reranked.dense[p.chunk_id] <= 1.0 for p in reranked.passages)


def test_missing_reranker_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match="VERIRAG_RERANKER_PATH"):
        CrossEncoderReranker(tmp_path / "nope")
