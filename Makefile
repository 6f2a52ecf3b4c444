# The two commands the README promises: `make run` and `make test`.
.PHONY: run test lint

run:
	bash scripts/setup.sh run
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv/bin/verirag serve --api-port 8000

test:
	bash scripts/test.sh

lint:
	.venv/bin/ruff check .
