"""A verirag knowledge base as a LlamaIndex retriever.

``VeriragLlamaIndexRetriever`` is a ``llama_index.core`` ``BaseRetriever``: ``retrieve`` and
``aretrieve``, callbacks and instrumentation come from LlamaIndex, and the result plugs into its
node postprocessors and query engines. Each node is a ``TextNode`` whose id is the chunk id, whose
``start_char_idx``/``end_char_idx`` are the passage's span in its document, whose source
relationship names the document, and whose metadata is that of
:func:`knowledge.adapters.citation_metadata`.

When a LlamaIndex synthesizer renders a node for its LLM it prepends the node's metadata; only the
document name and location are let through, because ids and scores in a prompt are noise the
model may copy into its answer. Nodes are never re-embedded by LlamaIndex, so all metadata is
excluded from the embedding text.
"""

from __future__ import annotations

from llama_index.core.callbacks import CallbackManager
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import (
    NodeRelationship,
    NodeWithScore,
    QueryBundle,
    RelatedNodeInfo,
    TextNode,
)

from knowledge.adapters import CITATION_KEYS, citation_metadata
from knowledge.retrieval import Filters, Retriever

LLM_VISIBLE_KEYS = ("doc_name", "location")


class VeriragLlamaIndexRetriever(BaseRetriever):
    """Search one verirag knowledge base from LlamaIndex.

    ``k`` defaults to the pack's ``top_k`` and ``filters`` to none, exactly as in verirag. A
    node's ``score`` is the fused (RRF) rank score; the cosine is ``metadata["dense_score"]``.
    """

    def __init__(self, retriever: Retriever, *, k: int | None = None,
                 filters: Filters | None = None,
                 callback_manager: CallbackManager | None = None, verbose: bool = False) -> None:
        super().__init__(callback_manager=callback_manager, verbose=verbose)
        self.retriever = retriever
        self.k = k
        self.filters = filters

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        result = self.retriever.search(query_bundle.query_str, k=self.k, filters=self.filters)
        pack = self.retriever.kb.pack.name
        hidden = [key for key in CITATION_KEYS if key not in LLM_VISIBLE_KEYS]
        nodes = []
        for p in result.passages:
            node = TextNode(
                text=p.text, id_=str(p.chunk_id), metadata=citation_metadata(p, result, pack),
                start_char_idx=p.start, end_char_idx=p.end,
                relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=str(p.doc_id))},
                excluded_llm_metadata_keys=hidden,
                excluded_embed_metadata_keys=list(CITATION_KEYS),
            )
            nodes.append(NodeWithScore(node=node, score=p.score))
        return nodes
