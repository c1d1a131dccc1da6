"""The library's errors: :class:`InputError` for bad input (it carries the file and line so the CLI
can name them) and its kinds :class:`DeviceUnavailable` (the tools add which option to change) and
:class:`UsageError` (options that do not fit the input: the tools exit 2)."""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Input that the suite cannot use. ``str()`` gives ``path:line: message``."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = "<stdin>" if self.path == "-" else self.path
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        return where + self.message


class DeviceUnavailable(InputError):
    """A compute device was requested that this machine does not have (the tools add which
    option to change)."""


class UsageError(InputError):
    """The options given do not fit the input (e.g. grouping by miRNA without a mirna_id column):
    the tools report it as a usage error (exit 2)."""
