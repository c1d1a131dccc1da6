"""Reproducible release archives: the sdist and the wheel (make dist), the recipe's sha256.

    python scripts/dist.py build [--outdir dist] [--worktree]   # make dist
    python scripts/dist.py recipe-sha [--outdir dist]            # make recipe-sha
    python scripts/dist.py check-recipe [--outdir dist]          # part of make release-check
    python scripts/dist.py venv DIR --torch torch==X [--worktree] # make wheel-venv (galaxy-test)

The archives are a function of the commit and of the build tools only:

* the source is an export of HEAD (``git archive``), never the working tree with its stray
  files and its ``*.egg-info`` (setuptools reads an existing SOURCES.txt back into the sdist);
  ``--worktree`` exports the working tree's files instead (what ``git add -A`` would commit:
  tracked and untracked-but-not-ignored), for tests of uncommitted code;
* they are built without build isolation (``python -m build --no-isolation``): the
  environment's setuptools builds them, not whatever release PyPI serves that day;
* every member is then normalised: sorted (the wheel's ``*.dist-info`` last, RECORD last of
  all), owner root/root, mode 0644 or 0755, modification time SOURCE_DATE_EPOCH, gzip header
  without a name and with that time;
* SOURCE_DATE_EPOCH is the time of the last commit that changed a file the sdist holds, so a
  commit that touches only files outside the sdist (docs, tests, recipe/) leaves the archives'
  bytes as they were. recipe/ is outside the sdist (MANIFEST.in prunes it): the recipe names the
  sdist's sha256, which could not be written into the sdist itself.

Checks made on every build: both archives hold the packaged models and the model card, the
LICENSE and every console script; ``twine check --strict`` passes; the wheel's version is the
package's.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipe" / "meta.yaml"
# what both archives must carry (paths inside the package)
PACKAGED = ("deeptarget_core/models/default.pt", "deeptarget_core/models/gene.pt", "deeptarget_core/models/MODEL_CARD.md")
SHA_LINE = re.compile(r"^(\s*sha256:\s*)([0-9a-f]{64})(.*)$", re.M)


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def package_version(src: Path = ROOT) -> str:
    text = (src / "deeptarget_core" / "__init__.py").read_text()
    return re.search(r'^__version__ = "([^"]+)"', text, re.M).group(1)


def console_scripts(src: Path = ROOT) -> list[str]:
    """The console scripts setup.cfg declares (name = module:function), in its order."""
    text = (src / "setup.cfg").read_text()
    block = text.split("console_scripts =", 1)[1]
    return [" ".join(line.split()) for line in block.splitlines()[1:] if line.startswith("    ") and "=" in line]


def export_source(dest: Path, worktree: bool) -> None:
    """HEAD (git archive) or the working tree's committable files, into dest."""
    dest.mkdir(parents=True)
    if worktree:
        names = git("ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
        for name in filter(None, names):
            src = ROOT / name
            if src.is_file():  # a tracked file deleted in the working tree is not exported
                (dest / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest / name)
    else:
        archive = subprocess.run(["git", "archive", "--format=tar", "HEAD"], cwd=ROOT, check=True, capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(dest, filter="data")


def source_date_epoch(members: list[str]) -> int:
    """Time of the last commit that changed one of these repository paths (HEAD's when none is tracked)."""
    tracked = set(git("ls-files", "-z").split("\0"))
    paths = sorted(m for m in members if m in tracked)
    out = git("log", "-1", "--format=%ct", "HEAD", "--", *paths).strip() if paths else ""
    return int(out or git("log", "-1", "--format=%ct", "HEAD").strip())


def _mode(executable: bool, directory: bool = False) -> int:
    return 0o755 if executable or directory else 0o644


def normalise_sdist(path: Path, epoch: int) -> None:
    with tarfile.open(path, "r:gz") as tar:
        members = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()]
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as out:
        for member, data in sorted(members, key=lambda md: md[0].name):
            if not (member.isfile() or member.isdir()):
                raise SystemExit(f"error: {path.name}: {member.name} is neither a file nor a folder")
            member.mtime = epoch
            member.uid = member.gid = 0
            member.uname = member.gname = "root"
            member.mode = _mode(bool(member.mode & 0o100), member.isdir())
            member.pax_headers = {}
            out.addfile(member, io.BytesIO(data) if data is not None else None)
    with open(path, "wb") as fh, gzip.GzipFile(filename="", mode="wb", fileobj=fh, compresslevel=9, mtime=epoch) as gz:
        gz.write(raw.getvalue())


def _wheel_order(name: str) -> tuple[int, int, str]:
    dist_info = name.split("/", 1)[0].endswith(".dist-info")
    return (dist_info, dist_info and name.endswith("/RECORD"), name)


def normalise_wheel(path: Path, epoch: int) -> None:
    # zip times are local-time fields without a zone: written as UTC, as setuptools does
    stamp = max(time.gmtime(epoch)[:6], (1980, 1, 1, 0, 0, 0))
    with zipfile.ZipFile(path) as whl:
        entries = [(info, whl.read(info)) for info in whl.infolist() if not info.is_dir()]
    with zipfile.ZipFile(path, "w") as out:
        for info, data in sorted(entries, key=lambda e: _wheel_order(e[0].filename)):
            new = zipfile.ZipInfo(info.filename, date_time=stamp)
            new.compress_type = zipfile.ZIP_DEFLATED
            new.create_system = 3
            new.external_attr = (0o100000 | _mode(bool((info.external_attr >> 16) & 0o100))) << 16
            out.writestr(new, data, compresslevel=9)


def check_archives(sdist: Path, wheel: Path, version: str, scripts: list[str]) -> None:
    """Models, model card, LICENSE and console scripts in both; the versions agree."""
    problems = []
    top = f"deeptarget-{version}/"
    with tarfile.open(sdist) as tar:
        names = set(tar.getnames())
    for need in (*PACKAGED, "LICENSE", "PKG-INFO", "setup.cfg", "pyproject.toml"):
        if top + need not in names:
            problems.append(f"{sdist.name} lacks {need}")
    if any(n.startswith(top + "recipe/") for n in names):
        problems.append(f"{sdist.name} holds recipe/ (its sha256 would depend on itself)")
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
        dist_info = f"deeptarget-{version}.dist-info"
        entry_points = whl.read(f"{dist_info}/entry_points.txt").decode() if f"{dist_info}/entry_points.txt" in names else ""
        metadata = whl.read(f"{dist_info}/METADATA").decode() if f"{dist_info}/METADATA" in names else ""
    for need in (*PACKAGED, f"{dist_info}/licenses/LICENSE"):
        if need not in names:
            problems.append(f"{wheel.name} lacks {need}")
    declared = {" ".join(line.split()) for line in entry_points.splitlines() if "=" in line}
    problems += [f"{wheel.name}: no console script {s}" for s in scripts if s not in declared]
    if f"\nVersion: {version}\n" not in metadata:
        problems.append(f"{wheel.name}: METADATA does not say Version: {version}")
    if problems:
        raise SystemExit("error: " + "\n error: ".join(problems))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(outdir: Path, worktree: bool = False, python: str = sys.executable, twine: bool = True) -> tuple[Path, Path]:
    """Build, normalise and check the sdist and the wheel into outdir; returns their paths."""
    outdir = outdir.resolve()
    with tempfile.TemporaryDirectory(prefix="dt-dist.") as tmp:
        src = Path(tmp) / "source tree"  # a space: the build must not depend on the path
        export_source(src, worktree)
        version = package_version(src)
        built = Path(tmp) / "out"
        run = subprocess.run(
            [python, "-m", "build", "--no-isolation", "--outdir", str(built), str(src)], capture_output=True, text=True
        )
        if run.returncode:
            sys.stderr.write(run.stdout[-4000:] + run.stderr[-4000:])
            raise SystemExit(f"error: python -m build failed (exit {run.returncode})")
        sdist = built / f"deeptarget-{version}.tar.gz"
        wheel = built / f"deeptarget-{version}-py3-none-any.whl"
        with tarfile.open(sdist) as tar:
            prefix = f"deeptarget-{version}/"
            members = [n[len(prefix) :] for n in tar.getnames() if n.startswith(prefix)]
        epoch = source_date_epoch(members)
        normalise_sdist(sdist, epoch)
        normalise_wheel(wheel, epoch)
        check_archives(sdist, wheel, version, console_scripts(src))
        outdir.mkdir(parents=True, exist_ok=True)
        paths = []
        for f in (sdist, wheel):
            (outdir / f.name).unlink(missing_ok=True)
            paths.append(Path(shutil.move(str(f), outdir / f.name)))
    if twine:
        subprocess.run([python, "-m", "twine", "check", "--strict", *map(str, paths)], check=True)
    return paths[0], paths[1]


def install_wheel(wheel: Path, venv: Path, torch_pin: str, python: str = sys.executable) -> Path:
    """A fresh virtual environment at venv (replaced) with the wheel and its dependencies; its bin/.

    This environment's pip installs into it (``pip --python``): the new one needs no pip of its
    own. ``--no-compile``: byte-compiling torch would triple the time. torch is pinned (a range
    would pull a multi-GB CUDA build where the CPU build lies on local disk).
    """
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], check=True)
    pip = [python, "-m", "pip", "--python", str(venv / "bin" / "python")]
    subprocess.run([*pip, "install", "-q", "--no-compile", str(wheel), torch_pin], check=True)
    subprocess.run([*pip, "check"], check=True)
    return venv / "bin"


def recipe_sha(text: str) -> str:
    match = SHA_LINE.search(text)
    if not match:
        raise SystemExit(f"error: {RECIPE}: no sha256 line")
    return match.group(2)


def write_recipe(sdist_sha: str, version: str) -> bool:
    text = RECIPE.read_text()
    new = SHA_LINE.sub(lambda m: m.group(1) + sdist_sha + m.group(3), text, count=1)
    new = re.sub(r'(\{% set version = ")[^"]*(" %\})', lambda m: m.group(1) + version + m.group(2), new, count=1)
    if new != text:
        RECIPE.write_text(new)
    return new != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["build", "recipe-sha", "check-recipe", "venv"])
    parser.add_argument("venv", nargs="?", type=Path, help="venv: the environment to make (replaced)")
    parser.add_argument("--outdir", type=Path, default=ROOT / "dist")
    parser.add_argument("--worktree", action="store_true", help="build the working tree's files, not HEAD")
    parser.add_argument("--torch", default="torch", help="venv: the torch requirement (the Makefile's TORCH_PIN)")
    parser.add_argument("--wheel", type=Path, help="venv: install this wheel instead of building one")
    args = parser.parse_args(argv)
    if (args.action == "venv") != (args.venv is not None):
        parser.error("DIR is given with the action venv, and only with it")
    if args.action == "venv" and args.wheel:
        install_wheel(args.wheel, args.venv, args.torch)
        return 0
    worktree = args.worktree and args.action in ("build", "venv")
    if not worktree and git("status", "--porcelain", "--untracked-files=no").strip():
        print("note: uncommitted changes are not in the archives (they are built from HEAD)", file=sys.stderr)
    sdist, wheel = build(args.outdir, worktree=worktree)
    for path in (sdist, wheel):
        print(f"{sha256(path)}  {path}")
    if args.action == "recipe-sha":
        changed = write_recipe(sha256(sdist), package_version())
        print(f"{RECIPE.relative_to(ROOT)}: {'sha256 and version written' if changed else 'already current'}")
    elif args.action == "venv":
        bindir = install_wheel(wheel, args.venv, args.torch)
        print(f"{wheel.name} installed in {args.venv}: {bindir}/dt-predict")
    elif args.action == "check-recipe":
        want, have = sha256(sdist), recipe_sha(RECIPE.read_text())
        if want != have:
            print(
                f"error: recipe/meta.yaml says sha256 {have}, the sdist of HEAD is {want}: run make recipe-sha", file=sys.stderr
            )
            return 1
        print("recipe/meta.yaml: sha256 equals the sdist's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
