#!/usr/bin/env bash
# Build the local base image for `make container` when no registry is reachable for
# python:3.11-slim-bookworm: a minimal Debian bookworm root file system made with debootstrap
# from the mirror this machine's apt uses, with Debian's python3 (3.11, the same minor version
# as the usual base) plus python3-venv, imported into podman's storage.
#
#   container/make-base.sh IMAGE WORKDIR       e.g. localhost/deeptarget-base:bookworm /var/tmp/deeptarget-container
#
# The root file system is kept in WORKDIR/rootfs and reused; the image is re-imported only when
# it is missing from podman's storage. Needs root (debootstrap, chroot).
set -euo pipefail
image=${1:?usage: make-base.sh IMAGE WORKDIR}
workdir=${2:?usage: make-base.sh IMAGE WORKDIR}
podman=${PODMAN:-podman}
suite=${DEBIAN_SUITE:-bookworm}

# the image and the root file system are made again when this script changes
recipe=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)
if [[ $($podman image inspect --format '{{index .Config.Labels "deeptarget.base.recipe"}}' "$image" 2>/dev/null) == "$recipe" ]]; then
    echo "base image $image is up to date (recipe $recipe)"
    exit 0
fi

# the mirror apt is configured with (deb822 sources or the classic sources.list)
mirror=${DEBIAN_MIRROR:-}
if [[ -z $mirror ]]; then
    mirror=$(sed -n 's/^URIs: *\(\S*\/debian\)\/*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1 || true)
fi
if [[ -z $mirror ]]; then
    mirror=$(sed -n 's/^deb \(\[[^]]*\] \)\?\(\S*\/debian\)\/* .*/\2/p' /etc/apt/sources.list 2>/dev/null | head -n1 || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}

rootfs=$workdir/rootfs
mkdir -p "$workdir"
if [[ $(cat "$workdir/rootfs.recipe" 2>/dev/null) != "$recipe" ]]; then
    rm -rf "$rootfs" "$rootfs.tmp"
    echo "debootstrap $suite from $mirror into $rootfs" >&2
    # minbase: essential + apt only; python3-venv brings ensurepip (pip's wheel for the venv),
    # python-is-python3 the `python` command the Dockerfile calls; ca-certificates for pip
    debootstrap --variant=minbase \
        --include=python3,python3-venv,python-is-python3,ca-certificates \
        "$suite" "$rootfs.tmp" "$mirror"
    # the same lean state as Debian's official slim images: apt keeps no package caches (so a
    # Dockerfile's `apt-get install` adds no 70 MB of *.bin caches), dpkg installs no docs, man
    # pages or translations, and none are left from debootstrap
    cat >"$rootfs.tmp/etc/apt/apt.conf.d/docker-clean" <<'CONF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CONF
    cat >"$rootfs.tmp/etc/dpkg/dpkg.cfg.d/docker" <<'CONF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
CONF
    chroot "$rootfs.tmp" apt-get clean
    find "$rootfs.tmp"/usr/share/doc -mindepth 1 ! -name copyright ! -type d -delete
    find "$rootfs.tmp"/usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
    rm -rf "$rootfs.tmp"/var/lib/apt/lists/* "$rootfs.tmp"/var/cache/apt/*.bin \
           "$rootfs.tmp"/usr/share/man/* "$rootfs.tmp"/usr/share/groff/* \
           "$rootfs.tmp"/usr/share/info/* "$rootfs.tmp"/usr/share/lintian/* \
           "$rootfs.tmp"/var/log/*.log "$rootfs.tmp"/var/cache/debconf/*-old "$rootfs.tmp"/tmp/*
    find "$rootfs.tmp"/usr/lib/python3* -name __pycache__ -prune -exec rm -rf {} +
    mv "$rootfs.tmp" "$rootfs"
    echo "$recipe" >"$workdir/rootfs.recipe"
fi

# ENV as in python:3.11-slim-bookworm (an imported tarball has no environment of its own)
tar --numeric-owner --xattrs -C "$rootfs" -c . | $podman import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    --change "LABEL deeptarget.base.recipe=$recipe" \
    --message "debootstrap --variant=minbase $suite ($mirror) + python3, python3-venv" \
    - "$image"
$podman image ls "$image"
