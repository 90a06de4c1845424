# The SageMaker model server's targets (included by the Makefile). Its own venv, .venv-model/,
# holds the CPU build of torch, diffusers and transformers: nothing here touches .venv or the
# Lambda package.
MODEL_VENV  := .venv-model
MODEL_PY    := $(MODEL_VENV)/bin/python
MODEL_STAMP := $(MODEL_VENV)/.installed
MODEL_DIR   ?= /opt/ml/model
MODEL_PORT  ?= 8080
FAMILY      ?=
DIR         ?= test-output/tiny-$(or $(FAMILY),qwen-image-edit-2511)

.PHONY: model-install model-test model-tiny model-serve model-stage model-bench model-image model-load-memory model-plan

model-install: $(MODEL_STAMP)

$(MODEL_STAMP): model_server/requirements.txt model_server/requirements-test.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	test -x $(MODEL_PY) || $(PYTHON) -m venv $(MODEL_VENV)
	$(MODEL_PY) -m pip install --quiet --upgrade pip
	$(MODEL_PY) -m pip install --quiet -r model_server/requirements-test.txt
	touch $(MODEL_STAMP)

# Lint, then the server over HTTP on 127.0.0.1 with a tiny random model built offline. In parallel
# like make test (TEST_WORKERS), a test file per worker: one file's tests share its servers.
MODEL_PYTEST_PARALLEL = $(if $(filter-out 0 1,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile,)
model-test: model-install
	$(MODEL_VENV)/bin/ruff check model_server scripts/benchmark_model_server_gpu.py
	$(MODEL_VENV)/bin/ruff format --check model_server scripts/benchmark_model_server_gpu.py
	cd model_server && ../$(MODEL_PY) -m pytest -q $(MODEL_PYTEST_PARALLEL)

# A tiny random-weight model directory with the real classes, built offline:
# make model-tiny DIR=/tmp/tiny [FAMILY=flux2-klein-4b] (no FAMILY: Qwen-Image-Edit-2511)
model-tiny: model-install
	cd model_server && ../$(MODEL_PY) -m tryon_model_server.tiny_model $(abspath $(DIR)) $(if $(FAMILY),--family $(FAMILY),)

# Serve any model directory through the production loading path: make model-serve MODEL_DIR=/tmp/tiny PORT=8080
# (the family is read from the directory's model_index.json; FAMILY=... makes the server check it)
model-serve: model-install
	$(if $(FAMILY),TRYON_MODEL_FAMILY=$(FAMILY) ,)$(MODEL_PY) model_server/serve serve --model-dir $(abspath $(MODEL_DIR)) --host $(HOST) --port $(or $(filter-out 3000,$(PORT)),$(MODEL_PORT))

# Peak host memory while the production loading path loads a scaled-down model (~680 MB, written
# offline to a temporary directory), beside the components' sizes: make model-load-memory [QUANTIZATION=fp8]
model-load-memory: model-install
	$(MODEL_PY) model_server/scripts/measure_load_memory.py --quantization $(or $(QUANTIZATION),none)

# On a machine with internet and AWS credentials: download the pinned weights and stage them in S3.
# make model-stage BUCKET=my-bucket [FAMILY=flux2-klein-4b|qwen-image-edit-2511] [PREFIX=tryon-model/<family>] [LORA=0]
# No FAMILY: flux2-klein-4b, the model stack's default. Qwen's few-step LoRA is staged unless LORA=0.
model-stage: model-install
	@test -n "$(BUCKET)" || { echo "BUCKET=... is required"; exit 2; }
	$(MODEL_PY) model_server/scripts/stage_weights.py --bucket $(BUCKET) $(if $(FAMILY),--family $(FAMILY),) $(if $(PREFIX),--prefix $(PREFIX),) \
		$(if $(filter 0,$(LORA)),--without-lora,) $(if $(WORKDIR),--workdir $(WORKDIR),)

# The capacity plan of both families (~1 min on 2 cores, no weights, no GPU): the published architectures on
# PyTorch's meta device; parameters, bytes, FLOPs and tokens per request, and per SageMaker instance
# fits/seconds/$ (estimates), then the cheapest real-time choice. make model-plan [FAMILY=...]
model-plan: model-install
	cd model_server && ../$(MODEL_PY) -m capacity_plan $(if $(FAMILY),--family $(FAMILY),)

# On a CUDA machine (the GPU container or any PyTorch GPU box): seconds per image at 1 MP with a garment and
# peak GPU memory, bf16 and fp8, full-size random weights (nothing downloaded). make model-bench FAMILY=flux2-klein-4b
# Both families on one GPU in under 8 minutes: PYTHON=... bash scripts/benchmark_model_families_gpu.sh
model-bench:
	@test -n "$(FAMILY)" || { echo "FAMILY=flux2-klein-4b or FAMILY=qwen-image-edit-2511 is required"; exit 2; }
	$(if $(wildcard $(MODEL_PY)),$(MODEL_PY),$(PYTHON)) scripts/benchmark_model_server_gpu.py --family $(FAMILY)

# The container image (needs Docker; its base image is on ECR Public, no login to pull it; see
# docs/model-server.md, "Deploy, test, tear down").
model-image:
	docker build -f model_server/Dockerfile -t tryon-model-server .
