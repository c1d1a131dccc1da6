"""Every file a run will write, checked against every file it reads before any work.

A tool writes more than the outputs named on its command line: a ``.bgz`` output brings its
tabix index (``NAME.bgz.tbi``), a genome FASTA may get its ``.fai``/``.gzi`` built beside it,
a plot folder fills with pictures, dt-train keeps ``OUTPUT.resume`` and a log. Each of these
side files goes through the same refusal as the main outputs (:func:`refuse_clashes`): it may
not be an input, an input's index, or another file the run writes. Files are compared as the
file itself (device and inode of an existing file; the resolved name of a new one), so
symbolic links, hard links and ``./x`` are caught. Temporary files need no plan: they are made
with exclusive-create names (``mkstemp``), which never replace a file.

The library raises :class:`~deeptarget_core.errors.UsageError` for a clash (the tools exit 2,
as for any option that does not fit) and :class:`~deeptarget_core.errors.InputError` for a
'-' whose descriptor is closed (exit 1).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from .errors import InputError, UsageError
from .streams import closed_standard_stream

INDEX_SUFFIXES = (".fai", ".gzi", ".tbi")  # index files that may lie beside an input and be read with it
BGZ_SUFFIX = ".bgz"  # an output sorted, bgzip-compressed and tabix-indexed (deeptarget_core.indexed)


@dataclass(frozen=True)
class Planned:
    """One file a run reads or writes. ``text`` names it in a message; files of one ``owner``
    never clash with each other (an input's index, read and rebuilt by the same run)."""

    path: str
    text: str
    owner: str


def _entries(paths: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, path) of each path given (a path, a list of paths or None); '-' is left out."""
    out = []
    for label, value in paths.items():
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if v is not None and str(v) != "-":
                out.append((label, str(v)))
    return out


def index_files(label: str, path: str) -> list[Planned]:
    """The index files that may lie beside the input ``path`` (read with it, or built)."""
    owner = "index of " + os.path.realpath(path)
    return [Planned(path + s, f"the index {path}{s} of the input {label} {path}", owner) for s in INDEX_SUFFIXES]


def implied_outputs(label: str, path: str) -> list[Planned]:
    """The side files that an output ``path`` brings with it: a ``.bgz`` output's ``.tbi``."""
    if path.endswith(BGZ_SUFFIX):
        text = f"the index {path}.tbi of {label} {path}"
        return [Planned(path + ".tbi", text, text)]
    return []


def identity(path: str) -> tuple | str | None:
    """What makes two names the same file: device and inode of an existing file (links and
    hard links resolved), else the resolved name; None for devices and pipes, which are
    written straight through (``-o /dev/null --gene-output /dev/null`` is fine). The name is
    taken as the writers take it (``Path``): ``x/`` and ``x/.`` are the file ``x``."""
    path = str(Path(path))
    try:
        st = os.stat(path)
    except OSError:
        return os.path.realpath(path)
    if stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode):
        return (st.st_dev, st.st_ino)
    return None


def refuse_clashes(
    inputs: Mapping[str, Any],
    outputs: Mapping[str, Any],
    replaced_dirs: Mapping[str, Any] | None = None,
    side: Iterable[Planned] = (),
) -> None:
    """Refuse, before any work, a file the run writes that is an input (or an input's index)
    or another file it writes; a directory replaced as a whole (``replaced_dirs``) that holds
    an input or the current directory; and '-' where stdin or stdout is closed.

    ``inputs`` and ``outputs`` map the option (for the message) to a path, a list of paths or
    None ('-' is stdin/stdout). ``side``: the command's own side files (see :func:`index_files`);
    those of ``outputs`` (:func:`implied_outputs`) and the inputs' indexes are added here."""
    _refuse_closed(inputs, "stdin", "an input")
    _refuse_closed(outputs, "stdout", "an output")
    _refuse_two_stdin(inputs)
    read: list[Planned] = []
    for label, path in _entries(inputs):
        read.append(Planned(path, f"the input {label} {path}", f"the input {label} {path}"))
        read += index_files(label, path)
    written: list[Planned] = []
    for label, path in _entries(outputs):
        if path.endswith(("/", "/.")) and not os.path.isdir(path):
            raise UsageError(f"{label} {path} ends with '/': it names a folder, not a file; give a file name")
    for label, path in _entries(outputs) + _entries(replaced_dirs or {}):
        written.append(Planned(path, f"{label} {path}", f"{label} {path}"))
        for implied in implied_outputs(label, path):
            if os.path.isdir(implied.path):  # found only at the end otherwise, after all the work
                raise InputError(f"{implied.text} is a directory: it cannot be written; move it away")
            written.append(implied)
    written += list(side)
    for w in written:
        _refuse_long_name(w)
    seen_read = [(r, identity(r.path)) for r in read]
    seen_written: list[tuple[Planned, Any]] = []
    for w in written:
        ident = identity(w.path)
        if ident is None:
            continue
        for r, other in seen_read:
            if other == ident and r.owner != w.owner:
                raise UsageError(f"{w.text} is the same file as {r.text}: it would be overwritten; write the output elsewhere")
        for o, other in seen_written:
            if other == ident and o.owner != w.owner:
                raise UsageError(f"{w.text} and {o.text} name the same file; give two different outputs")
        seen_written.append((w, ident))
    for label, path in _entries(replaced_dirs or {}):
        _refuse_replaced_dir(label, path, _entries(inputs))


def _refuse_replaced_dir(label: str, path: str, inputs: list[tuple[str, str]]) -> None:
    target = Path(os.path.realpath(path))
    cwd = Path(os.path.realpath(os.getcwd()))
    if cwd == target or cwd.is_relative_to(target):
        raise UsageError(
            f"{label} {path} is the current directory (or holds it); the output directory is replaced as a whole: name a new one"
        )
    for other_label, other in inputs:
        if Path(os.path.realpath(other)).is_relative_to(target):
            raise UsageError(
                f"{label} {path} holds the input {other_label} {other}; the output directory is replaced as a whole: name another one"
            )


# the names of the standard streams as files: with the stream closed they lead to /dev/null
_STANDARD_NAMES = {
    "stdin": {"-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"},
    "stdout": {"-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"},
}


def _refuse_long_name(w: Planned) -> None:
    """A name longer than its folder's file system takes (255 bytes on most) fails only when it
    is written, at the end of the run; a ``.bgz`` output of 252 bytes has an index it cannot."""
    name = os.fsencode(os.path.basename(os.path.normpath(w.path)))
    folder = os.path.dirname(os.path.abspath(w.path))
    try:
        limit = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    if len(name) > limit:
        raise InputError(f"{w.text}: the name is {len(name)} bytes, longer than the file system takes ({limit}): name it shorter")


def _refuse_two_stdin(inputs: Mapping[str, Any]) -> None:
    """stdin is read once: two inputs on it would split its bytes or read one file as both."""
    on_stdin = [
        label
        for label, value in inputs.items()
        for v in (value if isinstance(value, (list, tuple)) else [value])
        if v is not None and str(v) in _STANDARD_NAMES["stdin"]
    ]
    names = list(dict.fromkeys(on_stdin))
    if len(on_stdin) > 1:
        who = f"{names[0]} twice" if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        raise UsageError(f"{who} read stdin ('-'): only one input can be read from stdin")


def _refuse_closed(paths: Mapping[str, Any], stream: str, what: str) -> None:
    for label, value in paths.items():
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if v is not None and str(v) in _STANDARD_NAMES[stream] and closed_standard_stream(stream):
                raise InputError(f"{label} is {v} ({stream}) but {stream} is closed: give {what} file instead")
