"""Running the API: readiness, graceful shutdown, new documents and adapters without restart."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from app.api.deps import ApiOptions
from app.api.server import Background, create_app
from app.models.adapters import base_fingerprint, save_adapter_metadata
from app.models.generator import resolve_hf_dir
from app.models.locate import default_generator
from app.services import Runtime
from tests.api.conftest import Api, wait_ready
from verirag.settings import Settings

HYGIENE = "When must staff perform hand hygiene?"


def test_v1_routes_wait_for_readiness(runtime: Runtime) -> None:
    """Before the models are loaded a client is told to retry, not left hanging."""
    c = TestClient(create_app(runtime, ApiOptions()))
    # Not entered as a context manager: no lifespan runs, so it never becomes ready.
    response = c.get("/v1/models")
    assert response.status_code == 503 and "retry" in response.json()["error"]["message"]
    assert c.get("/healthz").json() == {"status": "ok"}
    assert c.get("/readyz").status_code == 503


def test_stopping_finishes_the_answer_in_flight(api: Api) -> None:
    """SIGTERM's path (uvicorn's should_exit): the answer being written completes and is
    recorded; only then does the server exit."""
    key = api.key("api-nurse", "medical", "viewer")
    server = Background(create_app(api.rt, ApiOptions(workers=1)))
    url = server.__enter__()
    wait_ready(url)
    got: dict[str, httpx.Response] = {}

    def ask() -> None:
        got["reply"] = httpx.post(f"{url}/v1/chat/completions", timeout=300,
                                  headers={"Authorization": f"Bearer {key}"},
                                  json={"model": "medical", "messages": [
                                      {"role": "user", "content": HYGIENE}]})

    asking = threading.Thread(target=ask)
    asking.start()
    state = server.server.config.app.state.api  # type: ignore[attr-defined]
    while state.metrics.in_flight._value.get() < 1 and asking.is_alive():
        time.sleep(0.01)
    server.stop()
    asking.join()
    reply = got["reply"]
    assert reply.status_code == 200, reply.text
    extra = reply.json()["verirag"]
    assert extra["decision"] in ("answer", "refuse") and extra["turn_id"] > 0
    assert api.rt.sessions.turns(extra["session_id"]), "the answer was recorded"


@pytest.mark.slow
def test_an_adapter_activated_while_serving_answers_the_next_request(
        fresh_api: Api, session_settings: Settings) -> None:
    """The registry is read per request: activate, and the next answer uses the adapter;
    deactivate, and the next one uses the bare base. No restart."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = resolve_hf_dir(default_generator(), session_settings.cache_dir)
    model = AutoModelForCausalLM.from_pretrained(base, local_files_only=True,
                                                 dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    registry = fresh_api.rt.resources.adapters("medical")
    torch.manual_seed(7)
    lora = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, init_lora_weights=False,
                                            target_modules=["q_proj", "v_proj"]))
    lora.save_pretrained(registry.path("api-hot"))
    save_adapter_metadata(registry.path("api-hot"), base_model=base.name,
                          base_fingerprint=base_fingerprint(model, tokenizer),
                          data_hash="sha256:api-test", hyperparameters={"r": 4},
                          metrics={}, name="api-hot")
    admin = fresh_api.client(fresh_api.key("boss", "medical", "admin"))
    added = admin.post("/v1/packs/medical/documents", files=[("files", ("hygiene.md", (
        b"# Hand hygiene\n\nStaff must clean their hands before touching a patient, before "
        b"a clean procedure, after body fluid exposure and after touching a patient.\n")))])
    assert added.status_code == 201

    def served() -> tuple[str | None, str | None]:
        model_adapter = admin.get("/v1/models/medical").json()["adapter"]
        reply = admin.post("/v1/chat/completions", json={"model": "medical", "messages": [
            {"role": "user", "content": HYGIENE}]}).json()["verirag"]
        return model_adapter, reply["adapter"]

    assert served() == (None, None)
    registry.activate("api-hot")
    assert served() == ("api-hot", "medical-api-hot")
    registry.deactivate()
    assert served() == (None, None)
