"""The library's errors: :class:`InputError` for bad input (it carries the file and line so the CLI
can name them) and its kinds :class:`DeviceUnavailable` (the tools add which option to change) and
:class:`UsageError` (options that do not fit the input: the tools exit 2).

The library speaks of values, not flags. A message about one option's value names it by its
value's name (``option``, e.g. 'force' or 'layers': the field of the command's options) at an
``{option}`` mark; a tool puts its own flag there (``exc.option_label = '--force'``).
"""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Input that the suite cannot use. ``str()`` gives ``path:line: message``."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None, option: str | None = None):
        self.template = message
        self.path = None if path is None else str(path)
        self.line = line
        self.option = option  # the option value the message is about, named at '{option}'
        self.option_label: str | None = None  # how the caller names that option (a tool: its flag)
        super().__init__(message)

    @property
    def message(self) -> str:
        if self.option is None:
            return self.template
        return self.template.replace("{option}", self.option_label or f"'{self.option}'")

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
