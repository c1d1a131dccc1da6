#!/usr/bin/env bash
# Build the deepTarget image from the project's Dockerfile with podman, on a machine that has no
# Docker engine and reaches no image registry (issue 17). Called by `make container`.
#
#   container/build.sh IMAGE:TAG      environment: TORCH_VARIANT (cpu | cuNNN), VERSION,
#                                     BASE_IMAGE, CONTAINER_WORK, PODMAN, TORCH_INDEX_URL,
#                                     TORCH_WHEELS, LAYERS (true | false)
#
# What differs from `docker build .` is passed in from outside; the Dockerfile is the same:
# - the base image: BASE_IMAGE (built by container/make-base.sh with debootstrap unless it
#   exists, or set BASE_IMAGE=docker.io/library/python:3.11-slim-bookworm where a registry is
#   reachable) through the PYTHON_IMAGE build argument;
# - the torch wheel: where download.pytorch.org cannot be reached, TORCH_INDEX_URL is PyPI, and
#   for the CPU variant the directory holding torch-VERSION+cpu (TORCH_WHEELS, else found in this
#   machine's pip find-links) is mounted into the build steps as a pip find-links directory;
# - this machine's CA bundle (which may carry a TLS-inspecting proxy's certificate) is mounted
#   for pip.
# The mounts exist only while a RUN step runs (podman build --volume): none of them ends up in the
# image, whose runtime stage copies nothing but /opt/deeptarget from the build stage.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
tag=${1:?usage: build.sh IMAGE:TAG}
variant=${TORCH_VARIANT:-cpu}
torch_version=${TORCH_VERSION:-2.13.0}
version=${VERSION:-$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$root/deeptarget_core/__init__.py")}
work=${CONTAINER_WORK:-/var/tmp/deeptarget-container}
base=${BASE_IMAGE:-localhost/deeptarget-base:bookworm}
podman=${PODMAN:-$here/podman}
mkdir -p "$work"

if [[ $base == localhost/* ]]; then
    PODMAN=$podman "$here/make-base.sh" "$base" "$work"
fi

# the torch index: the Dockerfile's default where it answers, else PyPI
if [[ -z ${TORCH_INDEX_URL:-} ]]; then
    if curl -fsS -m 15 -o /dev/null "https://download.pytorch.org/whl/$variant/torch/" 2>/dev/null; then
        TORCH_INDEX_URL=https://download.pytorch.org/whl/$variant
    else
        TORCH_INDEX_URL=https://pypi.org/simple
    fi
fi

# pip's configuration inside the build steps (a site-wide /etc/pip.conf, mounted)
conf=$work/pip.conf
mounts=()
{
    echo "[global]"
    if [[ -s /etc/ssl/certs/ca-certificates.crt ]]; then
        echo "cert = /etc/ssl/host-ca-certificates.crt"
        mounts+=(--volume /etc/ssl/certs/ca-certificates.crt:/etc/ssl/host-ca-certificates.crt:ro)
    fi
    if [[ $variant == cpu && $TORCH_INDEX_URL != https://download.pytorch.org/* ]]; then
        # a directory holding the CPU wheel: TORCH_WHEELS, or one of pip's find-links here
        wheels=${TORCH_WHEELS:-}
        if [[ -z $wheels ]]; then
            for d in ${PIP_FIND_LINKS:-} $(python3 -m pip config list 2>/dev/null \
                    | sed -n "s/.*find-links='\(.*\)'/\1/p"); do
                d=${d#file://}
                if compgen -G "$d/torch-$torch_version+cpu-cp311-*.whl" >/dev/null; then
                    wheels=$d
                    break
                fi
            done
        fi
        if [[ -z $wheels ]]; then
            echo "error: no torch-$torch_version+cpu-cp311 wheel found (set TORCH_WHEELS=DIR) and" \
                 "download.pytorch.org is not reachable; PyPI's torch is a CUDA build" >&2
            exit 1
        fi
        echo "find-links = /wheels"
        mounts+=(--volume "$wheels:/wheels:ro")
        echo "torch wheel from $wheels" >&2
    fi
} >"$conf"
mounts+=(--volume "$conf:/etc/pip.conf:ro")

old_id=$($podman image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
echo "building $tag: base $base, torch $torch_version ($variant) from $TORCH_INDEX_URL" >&2
# --format docker: the Dockerfile's SHELL instruction is kept (OCI images have no SHELL), and the
# archive from `podman save` loads into docker and converts with apptainer as it is
$podman build --format docker --layers="${LAYERS:-true}" \
    --build-arg PYTHON_IMAGE="$base" \
    --build-arg TORCH_VARIANT="$variant" \
    --build-arg TORCH_VERSION="$torch_version" \
    --build-arg TORCH_INDEX_URL="$TORCH_INDEX_URL" \
    --build-arg VERSION="$version" \
    "${mounts[@]}" \
    -t "$tag" -f "$root/Dockerfile" "$root"
# the image this build replaced would stay as an untagged copy (a full one with vfs storage)
new_id=$($podman image inspect --format '{{.Id}}' "$tag")
if [[ -n $old_id && $old_id != "$new_id" ]]; then
    $podman rmi "$old_id" >/dev/null 2>&1 || true
fi
$podman image ls "$tag"
