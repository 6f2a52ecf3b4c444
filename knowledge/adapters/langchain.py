"""A verirag knowledge base as a LangChain retriever.

``VeriragLangChainRetriever`` is a ``langchain_core`` ``BaseRetriever``, hence a ``Runnable``:
``invoke``, ``batch``, ``ainvoke`` and ``|`` composition come from LangChain, and callbacks and
tracing see each search as a retriever run. Each ``Document`` holds the passage text and the
metadata of :func:`knowledge.adapters.citation_metadata`; its ``id`` is the chunk id.

Not handled here: per-call overrides of ``k`` or filters through ``invoke`` keyword arguments
(LangChain only forwards those to retrievers written against its old interface). Build a
retriever per filter instead; it is cheap, it holds no state beyond its settings.
"""

from __future__ import annotations

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from knowledge.adapters import citation_metadata
from knowledge.retrieval import Filters, Retriever


class VeriragLangChainRetriever(BaseRetriever):
    """Search one verirag knowledge base from LangChain.

    ``k`` defaults to the pack's ``top_k`` and ``filters`` to none, exactly as in verirag.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Retriever
    k: int | None = None
    filters: Filters | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        result = self.retriever.search(query, k=self.k, filters=self.filters)
        pack = self.retriever.kb.pack.name
        return [
            Document(id=str(p.chunk_id), page_content=p.text,
                     metadata=citation_metadata(p, result, pack))
            for p in result.passages
        ]
