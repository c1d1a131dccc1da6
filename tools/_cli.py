"""What every executable shares: logging to stderr, progress bars, the error handler.

stdout carries data only. Bad input ends with one ``error: ...`` line on stderr and exit 1
(usage errors exit 2, Ctrl-C exits 130); ``--debug`` shows the traceback.
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import sys
from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

import typer

from deeptarget_core.errors import InputError

log = logging.getLogger("deeptarget")
F = TypeVar("F", bound=Callable)


def make_app(help_text: str) -> typer.Typer:
    return typer.Typer(
        help=help_text,
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
        rich_markup_mode=None,
    )


def setup_logging(quiet: bool = False, verbose: bool = False) -> None:
    level = logging.ERROR if quiet else logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr, force=True)
    try:
        from rich.logging import RichHandler

        if sys.stderr.isatty():
            logging.basicConfig(level=level, format="%(message)s", handlers=[RichHandler(show_path=False)], force=True)
    except ImportError:  # rich is a dependency; plain logging is the fallback
        pass


def progress_enabled() -> bool:
    return sys.stderr.isatty() and log.isEnabledFor(logging.INFO)


@contextmanager
def progress(description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr when it is a terminal; a no-op otherwise.

    Yields ``advance(n)``.
    """
    if not progress_enabled():
        yield lambda n=1: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)


def fail(message: str, code: int = 1) -> None:
    """Print one ``error:`` line and exit."""
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()
    raise SystemExit(code)


def handle_errors(func: F) -> F:
    """Turn library exceptions into one-line errors with the documented exit codes."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        debug = bool(kwargs.get("debug", False))
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except InputError as exc:
            if debug:
                raise
            fail(str(exc))
        except KeyboardInterrupt:
            sys.stderr.write("error: interrupted\n")
            raise SystemExit(130)
        except BrokenPipeError:
            # The reader of our stdout went away (e.g. `| head`): not an error.
            _silence_stdout()
            raise SystemExit(0)
        except OSError as exc:
            if debug:
                raise
            if exc.errno == errno.EPIPE:
                _silence_stdout()
                raise SystemExit(0)
            where = f"{exc.filename}: " if exc.filename else ""
            fail(f"{where}{exc.strerror or exc}")
        except MemoryError:
            fail("out of memory; try a smaller --batch-size or split the input")

    return wrapper  # type: ignore[return-value]


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


def not_implemented(tool: str, issue: str) -> None:
    fail(f"{tool} is not implemented yet ({issue}); see README.md for the tools that work today")


def run(app: typer.Typer) -> None:
    """Entry point body: run the typer app; usage errors exit 2 (click's default)."""
    app()
