#!/usr/bin/env bash
# Check an image archive made by `podman save --format docker-archive` (make container-save):
# it loads into a fresh, throw-away image storage and its tools start there as an unprivileged uid
# without a passwd entry, the way Apptainer runs them. Also prints the archive's manifest.
#
#   container/check-archive.sh ARCHIVE.tar
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
archive=${1:?usage: check-archive.sh ARCHIVE.tar}
podman=${PODMAN:-$here/podman}
tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/deeptarget-archive.XXXXXX")
cleanup() { $podman --root "$tmp/storage" --runroot "$tmp/run" rmi -af >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap cleanup EXIT
image=$(tar -xOf "$archive" manifest.json | python3 -c 'import json, sys; m = json.load(sys.stdin)[0]; print(m["RepoTags"][0]); print("archive:", m["RepoTags"], len(m["Layers"]), "layers", file=sys.stderr)')
p=($podman --root "$tmp/storage" --runroot "$tmp/run")
"${p[@]}" load -q -i "$archive" >/dev/null
echo "loaded $image into a fresh storage"
"${p[@]}" run --rm --network none --user 4242:4242 "$image" bash -c \
    'id -u; dt-predict --version; dt-scan-cts --version; python -c "import torch; print(\"torch\", torch.__version__)"'
