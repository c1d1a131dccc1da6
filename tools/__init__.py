"""Command-line executables of the deepTarget suite (installed as ``deeptarget_tools``).

One thin module per executable: parse options, call one function of ``deeptarget_core``.
"""

import sys

_started = False  # set by _cli.run once the tool's modules are imported


def started() -> None:
    """From here on an uncaught exception is a bug: it shows its traceback."""
    global _started
    _started = True


def _start_up_failed(kind, exc, tb) -> None:
    """A failure while a ``dt-*`` tool's modules are imported (a broken install, an odd
    environment): one ``error:`` line (exit 1) instead of a traceback; ``--debug`` shows it.
    (Installed before typer, whose own hook hands other exceptions on to this one.)"""
    if _started or "--debug" in sys.argv or issubclass(kind, KeyboardInterrupt) or sys.stderr is None:
        sys.__excepthook__(kind, exc, tb)
        return
    message = " ".join(f"{kind.__name__}: {exc}".split())
    sys.stderr.write(f"error: the tool could not start: {message} (--debug shows the traceback)\n")


if sys.argv and sys.argv[0].rsplit("/", 1)[-1].startswith("dt-"):
    sys.excepthook = _start_up_failed
