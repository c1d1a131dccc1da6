#!/usr/bin/env bash
# `make container-test`: run the suite inside the image and check it against the host
# installation (issue 17).
#
#   container/test.sh IMAGE:TAG       environment: CONTAINER_WORK, PODMAN, HOST_BIN (.venv/bin)
#
# 1. container/pipeline.sh on the host (HOST_BIN's dt-* tools) in WORK/test/host;
# 2. the same script inside the image as the image's own non-root user (uid 1000) on a
#    bind-mounted work directory, with no network;
# 3. again inside the image as the caller's uid (--user UID:GID; when the caller is root, an
#    unprivileged uid that exists neither on the host nor in the image stands in for a user);
# 4. every output of 2 and 3 belongs to the uid that ran it, the site tables are byte-identical
#    to the host's and every other table agrees within 1e-5 (container/compare.py);
# 5. every dt-* tool starts in the image; start-up time, image size and run time are measured
#    and written to WORK/test/figures.txt.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
image=${1:?usage: test.sh IMAGE:TAG}
work=${CONTAINER_WORK:-/var/tmp/deeptarget-container}
podman=${PODMAN:-$here/podman}
host_bin=$(realpath "${HOST_BIN:-$root/.venv/bin}")
t=$work/test
tools=(dt-scan-cts dt-make-negatives dt-pretrain dt-train dt-predict dt-eval dt-explain)
start=$(date +%s.%N)
figures=$t/figures.txt

rm -rf "$t"
mkdir -p "$t"
: >"$figures"
note() { echo "$*" | tee -a "$figures"; }
fresh() { mkdir -p "$1"; cp "$root"/examples/{mirnas.fa,utrs.fa.gz,pairs.tsv} "$1"; }
seconds() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$@"; }
run_image() { $podman run --rm --network none "$@"; }

$podman image exists "$image" || { echo "error: no image $image: run make container first" >&2; exit 1; }
[[ -x $host_bin/dt-predict ]] || { echo "error: no host installation in $host_bin: run make install" >&2; exit 1; }

echo "== 1. host: $host_bin" >&2
fresh "$t/host"
t0=$(date +%s.%N)
(cd "$t/host" && PATH=$host_bin:$PATH bash "$here/pipeline.sh")
note "pipeline on the host: $(seconds "$t0" "$(date +%s.%N)") s"

echo "== 2. image $image as its own user" >&2
fresh "$t/image"
chown -R 1000:1000 "$t/image"
whoami_in=$(run_image "$image" id -u)
[[ $whoami_in == 1000 ]] || { echo "FAIL: the image runs as uid $whoami_in, not 1000" >&2; exit 1; }
t0=$(date +%s.%N)
run_image -v "$t/image:/data" -v "$here/pipeline.sh:/opt/pipeline.sh:ro" "$image" bash /opt/pipeline.sh
note "pipeline in the image (uid 1000, podman run included): $(seconds "$t0" "$(date +%s.%N)") s"

echo "== 3. image $image as the caller's uid" >&2
uid=${SUDO_UID:-$(id -u)}
gid=${SUDO_GID:-$(id -g)}
if [[ $uid == 0 ]]; then
    uid=4242 gid=4242   # root calling: a stand-in unprivileged uid without a passwd entry anywhere
fi
fresh "$t/caller"
chown -R "$uid:$gid" "$t/caller"
run_image --user "$uid:$gid" -v "$t/caller:/data" -v "$here/pipeline.sh:/opt/pipeline.sh:ro" \
    "$image" bash /opt/pipeline.sh

echo "== 4. ownership and outputs" >&2
fail=0
for d in image:1000:1000 "caller:$uid:$gid"; do
    IFS=: read -r name u g <<<"$d"
    wrong=$(find "$t/$name" \( ! -uid "$u" -o ! -gid "$g" \) -printf '%p %U:%G\n')
    if [[ -n $wrong ]]; then
        echo "FAIL: in $name/, files not owned by $u:$g:" >&2
        echo "$wrong" | head >&2
        fail=1
    else
        note "ownership: every file in $name/ belongs to $u:$g ($(find "$t/$name" -type f | wc -l) files)"
    fi
done
for d in image caller; do
    echo "-- host vs $d" | tee -a "$figures"
    python3 "$here/compare.py" "$t/host" "$t/$d" --tol 1e-5 --identical sites.tsv \
        --ignore model.pt --ignore ae.pt | tee "$t/compare_$d.txt" | grep -v '^ok' || true
    tail -n1 "$t/compare_$d.txt" >>"$figures"
    grep -q '^FAIL' "$t/compare_$d.txt" && fail=1
done

echo "== 5. start-up, size" >&2
if run_image "$image" bash -c 'for t in "$@"; do "$t" --version >/dev/null || { echo "$t failed" >&2; exit 1; }; done' \
        - "${tools[@]}"; then
    note "every tool answers --version in the image: ${tools[*]}"
else
    echo "FAIL: a tool does not start in the image" >&2
    fail=1
fi
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# inside a running container (the tool alone), then a whole `podman run` (container start too)
for cmd in "dt-predict --version" "dt-scan-cts --help"; do
    inside=$(run_image "$image" bash -c "TIMEFORMAT=%R; for i in 1 2 3 4 5 6; do { time $cmd >/dev/null; } 2>&1; done" | tail -n5 | median)
    host=$(bash -c "TIMEFORMAT=%R; for i in 1 2 3 4 5 6; do { time $host_bin/$cmd >/dev/null; } 2>&1; done" | tail -n5 | median)
    whole=$(for i in 1 2 3; do
        t0=$(date +%s.%N); run_image "$image" $cmd >/dev/null; seconds "$t0" "$(date +%s.%N)"
    done | median)
    note "start-up '$cmd': ${inside} s inside the image, ${whole} s as a whole podman run, ${host} s on the host (median)"
done
bytes=$($podman image inspect --format '{{.Size}}' "$image")
note "image $image: $((bytes / 1000000)) MB ($($podman image inspect --format '{{.Id}}' "$image" | cut -c1-12))"
note "container-test wall time: $(seconds "$start" "$(date +%s.%N)") s"
if [[ $fail != 0 ]]; then
    echo "container-test FAILED (outputs in $t)" >&2
    exit 1
fi
echo "container-test passed; figures in $figures:" >&2
cat "$figures" >&2
