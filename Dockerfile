# deepTarget suite container (issue 6): every dt-* tool plus the default model.
#
#   docker build -t deeptarget:0.1.0 .                                   # CPU torch (~1 GB)
#   docker build --build-arg TORCH_VARIANT=cu126 -t deeptarget:0.1.0-cu126 .   # CUDA 12.6 wheels
#
# No ENTRYPOINT: `docker run IMAGE dt-predict ...`, `apptainer exec IMAGE dt-scan-cts ...`,
# Nextflow and Snakemake all run plain commands in it. Work happens in /data as a non-root user.
#
# Without a registry (issue 17): `make container` builds this same file with podman on a base
# made locally by debootstrap (PYTHON_IMAGE), with the torch wheel and the host's pip/CA setup
# mounted into the build steps only (TORCH_INDEX_URL); see container/build.sh, docs/container.md.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- stage 1: build a self-contained virtual environment -------------------------------------
FROM ${PYTHON_IMAGE} AS build
ARG TORCH_VARIANT=cpu
ARG TORCH_VERSION=2.13.0
# the wheel index torch comes from; a local build points it at an index it can reach
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/${TORCH_VARIANT}
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/deeptarget/bin:$PATH
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN python -m venv /opt/deeptarget
# torch first, from the wheel index of the chosen variant: cpu, or cuNNN such as cu126 (the CUDA
# wheels carry their own CUDA runtime, so no nvidia base image is needed; the host needs only the
# driver). The build fails unless the installed torch is the variant asked for: an unpinned or
# mis-indexed install would otherwise put a multi-GB CUDA build into the CPU image unnoticed.
# torch's C++ headers, cmake files and C++ test programs serve only compiling against torch and
# testing it (about 190 MB): they go; torch_shm_manager stays.
RUN case "${TORCH_VARIANT}" in \
        cpu|cu[0-9][0-9][0-9]) ;; \
        *) echo "TORCH_VARIANT must be cpu or cuNNN (e.g. cu126), not '${TORCH_VARIANT}'" >&2; exit 1 ;; \
    esac \
 && pip install --index-url "${TORCH_INDEX_URL}" \
        --extra-index-url https://pypi.org/simple "torch==${TORCH_VERSION}" \
 && python -W ignore -c "import sys, torch; v = torch.version.cuda; got = 'cu' + v.replace('.', '') if v else 'cpu'; sys.exit(0 if got == sys.argv[1] else f'torch {torch.__version__} is a {got} build, not {sys.argv[1]}')" "${TORCH_VARIANT}" \
 && site=$(python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])") \
 && rm -rf "${site}/torch/include" "${site}/torch/share/cmake" "${site}/torch/test" \
 && find "${site}/torch/bin" -mindepth 1 -maxdepth 1 ! -name torch_shm_manager -exec rm -rf {} +
WORKDIR /src
# the dependencies in a layer that only a change of setup.cfg or pyproject.toml rebuilds: an empty
# stub of the package (and of README.md, its long description) pulls them in, then goes
COPY pyproject.toml setup.cfg ./
RUN mkdir -p deeptarget_core tools \
 && echo '__version__ = "0"' >deeptarget_core/__init__.py \
 && touch README.md \
 && pip install "torch==${TORCH_VERSION}" . \
 && pip uninstall -y deeptarget \
 && rm -rf deeptarget_core tools build ./*.egg-info README.md
COPY README.md ./
COPY deeptarget_core ./deeptarget_core
COPY tools ./tools
# a non-editable install: the package, its console scripts and the default model under
# deeptarget_core/models/ all land in /opt/deeptarget
RUN pip install --no-deps . \
 && python -c "import deeptarget_core, pathlib, sys; m = sorted(pathlib.Path(deeptarget_core.__file__).parent.joinpath('models').glob('*.pt')); sys.exit(0 if m else 'no default model in the package: run make model first')"

# ---- stage 2: runtime ----------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
ARG PYTHON_IMAGE
ARG TORCH_VARIANT=cpu
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="deeptarget" \
      org.opencontainers.image.description="deepTarget: microRNA target prediction with recurrent neural networks (dt-scan-cts, dt-predict, dt-train, ...)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="https://github.com/deeptarget-suite/deeptarget" \
      org.opencontainers.image.url="https://github.com/deeptarget-suite/deeptarget" \
      org.opencontainers.image.documentation="https://github.com/deeptarget-suite/deeptarget#readme" \
      org.opencontainers.image.base.name="${PYTHON_IMAGE}" \
      base_image="${PYTHON_IMAGE}" \
      software="deeptarget" \
      software.version="${VERSION}" \
      version="1" \
      about.summary="microRNA target prediction with deep recurrent neural networks (deepTarget, ACM-BCB 2016)" \
      about.home="https://github.com/deeptarget-suite/deeptarget" \
      about.documentation="https://github.com/deeptarget-suite/deeptarget#readme" \
      about.license="SPDX:MIT" \
      about.tags="Genomics,Transcriptomics,miRNA,Machine learning" \
      extra.identifiers.doi="10.1145/2975167.2975212" \
      extra.torch_variant="${TORCH_VARIANT}"
# procps: Nextflow reads `ps` inside task containers for its trace metrics
RUN apt-get update \
 && apt-get install -y --no-install-recommends procps \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 1000 --user-group --shell /bin/bash deeptarget \
 && mkdir -p /data \
 && chown deeptarget:deeptarget /data
COPY --from=build /opt/deeptarget /opt/deeptarget
ENV PATH=/opt/deeptarget/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/tmp/matplotlib
USER 1000:1000
WORKDIR /data
# smoke test: the tools start and the package imports without a GPU
RUN dt-scan-cts --version \
 && dt-predict --version \
 && python -c "import torch, deeptarget_core; print('torch', torch.__version__, 'cuda build:', torch.version.cuda)"
CMD ["dt-scan-cts", "--help"]
