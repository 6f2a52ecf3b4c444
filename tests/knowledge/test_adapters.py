"""The knowledge base seen from LangChain and LlamaIndex, through their own entry points.

Every check runs on the bundled medical pack (indexed once per session) and goes through
``invoke``/``batch``/``|`` on the LangChain side and ``retrieve`` on the LlamaIndex side, so what
is tested is what a user of either framework gets: the gold document first, the same ranking as
verirag's own retriever, and metadata complete enough to cite from.
"""

from __future__ import annotations

import ast
import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.runnables import RunnableLambda
from llama_index.core.schema import MetadataMode

import knowledge
from app.services import Runtime
from domains import bundled_packs_dir
from knowledge.adapters import CITATION_KEYS
from knowledge.adapters.langchain import VeriragLangChainRetriever
from knowledge.adapters.llamaindex import VeriragLlamaIndexRetriever
from knowledge.retrieval import Filters, Retriever

Hit = tuple[str, dict[str, Any]]
"""One result as either framework returns it, reduced to (text, metadata)."""


def _question(qid: str) -> dict[str, Any]:
    path = bundled_packs_dir() / "medical" / "eval" / "questions.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        if item["id"] == qid:
            return item
    raise LookupError(f"no question {qid} in {path}")


WARFARIN = _question("med-01")  # gold: anticoagulation-protocol.pdf (a PDF, so pages)
MORSE = _question("med-13")  # Chinese; gold: fall-prevention-zh.md


@pytest.fixture
def medical(runtime: Runtime) -> Retriever:
    return Retriever(runtime.resources.kb("medical"))


def _via_langchain(retriever: Retriever, query: str, **kw: Any) -> list[Hit]:
    docs = VeriragLangChainRetriever(retriever=retriever, **kw).invoke(query)
    assert all(d.id == str(d.metadata["chunk_id"]) for d in docs)
    return [(d.page_content, d.metadata) for d in docs]


def _via_llamaindex(retriever: Retriever, query: str, **kw: Any) -> list[Hit]:
    nodes = VeriragLlamaIndexRetriever(retriever, **kw).retrieve(query)
    assert all(n.node.node_id == str(n.node.metadata["chunk_id"]) for n in nodes)
    assert all(n.score == n.node.metadata["score"] for n in nodes)
    return [(n.node.get_content(), n.node.metadata) for n in nodes]


FRAMEWORKS = pytest.mark.parametrize("search", [_via_langchain, _via_llamaindex],
                                     ids=["langchain", "llamaindex"])
Search = Callable[..., list[Hit]]


@FRAMEWORKS
@pytest.mark.parametrize("question", [WARFARIN, MORSE], ids=["en", "zh"])
def test_gold_document_comes_first_with_citable_metadata(
        search: Search, medical: Retriever, question: dict[str, Any]) -> None:
    hits = search(medical, question["question"])
    assert hits and hits[0][1]["doc_name"] == question["doc"]
    for text, meta in hits:
        assert set(meta) == set(CITATION_KEYS)
        assert meta["pack"] == "medical"
        assert text.strip() and meta["location"]
        assert isinstance(meta["heading_path"], list)
        assert -1.0 <= meta["dense_score"] <= 1.0
        assert 0.0 <= meta["coverage"] <= 1.0
    top = hits[0][1]
    if question is WARFARIN:
        assert isinstance(top["page"], int) and top["location"].startswith(f"p. {top['page']}")


@FRAMEWORKS
def test_results_match_verirag_own_ranking(search: Search, medical: Retriever) -> None:
    """The adapters add no reranking or loss of their own: same passages, same order, same text."""
    own = medical.search(WARFARIN["question"], k=4)
    hits = search(medical, WARFARIN["question"], k=4)
    assert [m["chunk_id"] for _, m in hits] == [p.chunk_id for p in own.passages]
    assert [t for t, _ in hits] == [p.text for p in own.passages]
    assert [m["dense_score"] for _, m in hits] == pytest.approx(
        [own.dense[p.chunk_id] for p in own.passages])


@FRAMEWORKS
def test_filter_restricts_results_to_one_document(search: Search, medical: Retriever) -> None:
    only_sepsis = Filters(doc_names=frozenset({"sepsis-bundle.md"}))
    hits = search(medical, WARFARIN["question"], k=3, filters=only_sepsis)
    assert hits, "the sepsis bundle has passages to return even for an off-topic question"
    assert {m["doc_name"] for _, m in hits} == {"sepsis-bundle.md"}


def test_langchain_batch_answers_each_question_in_order(medical: Retriever) -> None:
    questions = [WARFARIN, MORSE, _question("med-06")]
    batches = VeriragLangChainRetriever(retriever=medical, k=2).batch(
        [q["question"] for q in questions])
    assert [docs[0].metadata["doc_name"] for docs in batches] == [q["doc"] for q in questions]
    assert all(len(docs) == 2 for docs in batches)


def test_langchain_chain_formats_numbered_context(medical: Retriever) -> None:
    def format_docs(docs: list[Document]) -> str:
        return "\n\n".join(
            f"[{n}] {d.page_content}\n({d.metadata['doc_name']}, {d.metadata['location']})"
            for n, d in enumerate(docs, start=1))

    chain = VeriragLangChainRetriever(retriever=medical, k=3) | RunnableLambda(format_docs)
    context = chain.invoke(WARFARIN["question"])
    assert isinstance(context, str)
    assert context.startswith("[1] ")
    assert "[2] " in context and "[3] " in context and "[4] " not in context
    assert f"({WARFARIN['doc']}, p. " in context.split("\n\n[2] ")[0]


def test_async_entry_points_of_both_frameworks(medical: Retriever) -> None:
    async def both() -> tuple[list[Document], list[Any]]:
        lc = VeriragLangChainRetriever(retriever=medical, k=2)
        li = VeriragLlamaIndexRetriever(medical, k=2)
        return await lc.ainvoke(MORSE["question"]), await li.aretrieve(MORSE["question"])

    docs, nodes = asyncio.run(both())
    assert docs[0].metadata["doc_name"] == nodes[0].node.metadata["doc_name"] == MORSE["doc"]


def test_llamaindex_node_shows_its_llm_the_source_but_not_ids_or_scores(
        medical: Retriever) -> None:
    """What a LlamaIndex synthesizer would put in its prompt for a verirag node."""
    node = VeriragLlamaIndexRetriever(medical, k=1).retrieve(MORSE["question"])[0].node
    prompt_text = node.get_content(metadata_mode=MetadataMode.LLM)
    assert f"doc_name: {MORSE['doc']}" in prompt_text
    assert node.metadata["location"] in prompt_text
    assert "45" in prompt_text and "chunk_id" not in prompt_text and "score" not in prompt_text
    assert node.get_content(metadata_mode=MetadataMode.EMBED) == node.get_content()
    assert node.ref_doc_id == str(node.metadata["doc_id"])
    assert (node.start_char_idx, node.end_char_idx) == (
        node.metadata["start"], node.metadata["end"])


@FRAMEWORKS
def test_empty_knowledge_base_returns_nothing(search: Search, fresh_runtime: Runtime) -> None:
    assert search(Retriever(fresh_runtime.resources.kb("medical")), WARFARIN["question"]) == []


def test_only_the_adapter_modules_import_the_frameworks() -> None:
    """Ingesting and answering must not need LangChain's core or LlamaIndex installed."""
    root = Path(knowledge.__file__).parent
    allowed = {root / "adapters" / "langchain.py", root / "adapters" / "llamaindex.py"}
    offenders = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if path not in allowed and any(
                    n.split(".")[0] in ("langchain_core", "llama_index") for n in names):
                offenders.append(f"{path.relative_to(root)}: {names}")
    assert offenders == []
