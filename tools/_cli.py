"""What every executable shares: logging to stderr, progress bars, the error handler.

stdout carries data only. Bad input ends with one ``error: ...`` line on stderr and exit 1
(usage errors exit 2, Ctrl-C exits 130, SIGTERM 143, SIGHUP 129); ``--debug`` shows the
traceback. Checks that every tool makes on its command line live here too:
:func:`check_paths` (no output is an input or another output), :func:`refuse` (a tool's table
of option combinations), :func:`one_stdin`, :func:`one_stdout`; :func:`options_of` (a command's
typed options from the tool's parameters) and :func:`show_table` (a readable table on stderr).
"""

from __future__ import annotations

import _thread
import errno
import functools
import logging
import os
import signal
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TypeVar

import typer
from typer.core import TyperCommand

import deeptarget_tools
from deeptarget_core.errors import DeviceUnavailable, InputError, UsageError
from deeptarget_core.output_plan import Planned, refuse_clashes
from deeptarget_core.streams import guard_standard_streams
from deeptarget_tools._help import with_description

# a write that fails for want of room or a sound device (--help or --version to a full disk)
_WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO)

log = logging.getLogger("deeptarget")
F = TypeVar("F", bound=Callable)
click = sys.modules[typer.BadParameter.__module__]  # click's exceptions (typer may vendor its own click)


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: unwinds like Ctrl-C (temporary outputs are removed on the
    way out) and ends with exit 128 + the signal number."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(signal.Signals(signum).name)


def _on_signal(signum, frame) -> None:
    # Once: a second signal during the clean-up must not cut the clean-up short.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    raise Terminated(signum)


def _deliver_again(unraisable, previous=sys.__unraisablehook__) -> None:
    """A signal that lands while a finaliser runs (a generator closed as its last reference
    goes) raises there, where Python can only print the exception and go on, with the handler
    already ignoring further signals: deliver it again, to be raised outside the finaliser."""
    exc = unraisable.exc_value
    if isinstance(exc, (Terminated, KeyboardInterrupt)):
        signum = exc.signum if isinstance(exc, Terminated) else signal.SIGINT
        if isinstance(exc, Terminated):
            signal.signal(signum, _on_signal)
        # sent a moment later from another thread (started without waiting for it: a wait
        # would take the signal here again), handled by the main thread after the finaliser
        _thread.start_new_thread(lambda: (time.sleep(0.01), os.kill(os.getpid(), signum)), ())
    else:
        previous(unraisable)


def _terminated(exc: Terminated) -> None:
    name = {signal.SIGTERM: "terminated (SIGTERM)", signal.SIGHUP: "hangup (SIGHUP)"}.get(exc.signum, str(exc))
    sys.stderr.write(f"error: {name}; partial outputs removed\n")
    sys.stderr.flush()
    raise SystemExit(128 + exc.signum)


def _usage_line(exc: Exception) -> str:
    """click's usage errors as one line: ``'--seed': '-1' is not a seed ...``."""
    text = " ".join(str(exc.format_message()).split())
    for prefix in ("Invalid value for ", "Invalid value: "):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


class _Command(TyperCommand):
    """Typer's command with the suite's error contract: usage errors as one ``error:`` line
    (exit 2) instead of click's framed box, and SIGTERM/SIGHUP handled like Ctrl-C."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        previous = {}
        try:  # signal handlers can only be set from the main thread
            for sig in (signal.SIGTERM, signal.SIGHUP):
                previous[sig] = signal.signal(sig, _on_signal)
        except ValueError:
            pass
        unraisable = sys.unraisablehook
        sys.unraisablehook = functools.partial(_deliver_again, previous=unraisable)
        try:
            try:
                rv = super().main(*args, standalone_mode=False, **kwargs)
            except click.ClickException as exc:
                sys.stderr.write(f"error: {_usage_line(exc)}\n")
                sys.stderr.flush()
                if not standalone_mode:
                    raise
                raise SystemExit(exc.exit_code) from None
            except typer.Abort:
                sys.stderr.write("error: interrupted\n")
                raise SystemExit(130) from None
            except SystemExit as exc:
                # click answers a closed pipe while it prints --help or --version (`| head`)
                # with exit 1 and its PacifyFlushWrapper on stdout: the reader went away, exit 0
                if exc.code == 1 and type(sys.stdout).__name__ == "PacifyFlushWrapper":
                    _silence_stdout()
                    raise SystemExit(0) from None
                raise
            except Terminated as exc:
                _terminated(exc)
            if standalone_mode:
                raise SystemExit(rv if isinstance(rv, int) else 0)
            return rv
        finally:
            sys.unraisablehook = unraisable
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class _App(typer.Typer):
    def command(self, *args: Any, **kwargs: Any):  # type: ignore[override]
        kwargs.setdefault("cls", _Command)
        return super().command(*args, **kwargs)


@with_description  # --help starts with help_text; options grouped in panels
def make_app(help_text: str) -> typer.Typer:
    return _App(
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


PROGRESS_INTERVAL_ENV = "DT_PROGRESS_INTERVAL"
PROGRESS_INTERVAL = 30.0  # seconds between progress lines when stderr is not a terminal


def progress_enabled() -> bool:
    """Whether progress is shown at all: not with -q (logging above INFO)."""
    return log.isEnabledFor(logging.INFO)


def progress_interval() -> float:
    """Seconds between two progress lines on a stderr that is not a terminal:
    ``$DT_PROGRESS_INTERVAL`` when it is a positive number, else :data:`PROGRESS_INTERVAL`."""
    try:
        value = float(os.environ.get(PROGRESS_INTERVAL_ENV, ""))
    except ValueError:
        return PROGRESS_INTERVAL
    return value if value > 0 else PROGRESS_INTERVAL


def _program() -> str:
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return name if name.startswith("dt-") else "deeptarget"


class _ProgressLines:
    """Progress as a line on stderr about every ``interval`` seconds (a log file, a cluster
    job's output), written from ``advance`` (no thread of its own): items done, rate, elapsed;
    and the share done when the total is known."""

    def __init__(self, description: str, total: int | None, interval: float):
        import threading
        import time

        self._clock = time.monotonic
        self._lock = threading.Lock()
        self.description, self.total, self.interval = description, total, interval
        self.done = 0
        self.start = self._clock()
        self._next = self.start + interval

    def advance(self, n: int = 1) -> None:
        with self._lock:
            self.done += n
            now = self._clock()
            if now < self._next:
                return
            self._next = now + self.interval
            line = self.line(now - self.start)
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def line(self, elapsed: float) -> str:
        done = f"{self.done:,}"
        if self.total:
            done += f" of {self.total:,} ({100 * self.done / self.total:.0f}%)"
        rate = self.done / elapsed if elapsed > 0 else 0.0
        return f"{_program()}: {self.description}: {done} done, {rate:,.0f}/s, {elapsed:,.0f} s elapsed"


@contextmanager
def progress(description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """Progress on stderr, none with -q: a rich progress bar when stderr is a terminal, else
    one line about every 30 s (``$DT_PROGRESS_INTERVAL`` seconds), e.g.
    ``dt-predict: scoring CTS: 1,234,567 done, 41,000/s, 30 s elapsed``.

    Yields ``advance(n)``.
    """
    if not progress_enabled():
        yield lambda n=1: None
        return
    if not sys.stderr.isatty():
        lines = _ProgressLines(description, total, progress_interval())
        yield lines.advance
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
    """Print one ``error:`` line and exit (a newline in a file name is shown as ``\\n``)."""
    message = message.replace("\r", "\\r").replace("\n", "\\n")
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()
    raise SystemExit(code)


def handle_errors(func: F | None = None, *, say: dict[str, str] | None = None) -> F:
    """Turn library exceptions into one-line errors with the documented exit codes.

    ``say``: the tool's own wording (in its flags) of the library's usage errors, by the option
    value each is about (``UsageError.option``); others get their flag at the ``{option}`` mark.
    Use as ``@handle_errors`` or ``@handle_errors(say={...})``."""
    if func is None:
        return functools.partial(handle_errors, say=say)  # type: ignore[return-value]

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        debug = bool(kwargs.get("debug", False))
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except UsageError as exc:
            raise typer.BadParameter((say or {}).get(exc.option or "") or _flagged(exc).message) from None
        except DeviceUnavailable as exc:
            if debug:
                raise
            fail(f"{exc}; use --device cpu or auto")
        except InputError as exc:
            if debug:
                raise
            fail(str(_flagged(exc)))
        except KeyboardInterrupt:
            sys.stderr.write("error: interrupted\n")
            raise SystemExit(130) from None
        except Terminated as exc:
            _terminated(exc)
        except BrokenPipeError:
            # The reader of our stdout went away (e.g. `| head`): not an error.
            _silence_stdout()
            raise SystemExit(0) from None
        except OSError as exc:
            if debug:
                raise
            if exc.errno == errno.EPIPE:
                _silence_stdout()
                raise SystemExit(0) from None
            where = f"{exc.filename}: " if exc.filename else ""
            fail(f"{where}{exc.strerror or exc}")
        except MemoryError:
            fail("out of memory; try a smaller --batch-size or split the input")
        except ImportError as exc:  # a library loaded for the run (torch) that cannot load: a limit, a broken install
            if debug:
                raise
            fail(f"a library could not be loaded: {' '.join(str(exc).split())}")

    return wrapper  # type: ignore[return-value]


def _flagged(exc: InputError) -> InputError:
    """The library names an option by its value's name (``exc.option``, e.g. 'cts_length'):
    the tools' flag for it is that name in dashes (--cts-length), unless the tool named it."""
    if exc.option is not None and exc.option_label is None:
        exc.option_label = "--" + exc.option.replace("_", "-")
    return exc


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
    except OSError:
        pass


def check_paths(
    inputs: dict[str, Any],
    outputs: dict[str, Any],
    replaced_dirs: dict[str, Any] | None = None,
    side: Iterable[Planned] = (),
) -> None:
    """Refuse, before any work, a file the run writes (an output, a side file such as a
    ``.bgz``'s ``.tbi``, or the command's own ``side`` files) that is the same file as an input,
    an input's index or another file it writes; and a directory replaced as a whole that holds
    an input or the current directory (:func:`deeptarget_core.output_plan.refuse_clashes`).
    A clash is a usage error (exit 2); '-' on a closed stdin/stdout an input error (exit 1)."""
    try:
        refuse_clashes(inputs, outputs, replaced_dirs, side)
    except UsageError as exc:
        raise typer.BadParameter(exc.message) from None


def refuse(rules: list[tuple[Callable[[Any], bool], Any]], options: Any) -> None:
    """The option combinations a tool refuses: ``rules`` are (refused when, message) pairs,
    checked in order; the first that holds is a usage error (exit 2). A message may be a
    callable of ``options``."""
    for refused, message in rules:
        if refused(options):
            raise typer.BadParameter(message if isinstance(message, str) else message(options))


def one_stdout(outputs: dict[str, Any]) -> None:
    """At most one of ``outputs`` (flag -> path or None) is '-' (stdout): else a usage error."""
    named = [flag for flag, path in outputs.items() if path is not None and str(path) == "-"]
    if len(named) > 1:
        raise typer.BadParameter(f"{' and '.join(named)} cannot both be stdout")


def one_stdin(*paths: Any, message: str = "only one input can be read from stdin", usage: bool = False) -> None:
    """At most one of ``paths`` (each a path, a list of paths or None) is '-' (stdin): else an
    input error (exit 1), or a usage error (exit 2) with ``usage``."""
    named = [p for v in paths for p in (v if isinstance(v, (list, tuple)) else [v])]
    if sum(1 for p in named if p is not None and str(p) == "-") > 1:
        raise typer.BadParameter(message) if usage else InputError(message)


def flag_of(command: Callable, name: str) -> str:
    """The long flag of parameter ``name`` of a typer command function (``--pair-table``)."""
    import inspect

    annotation = inspect.signature(command).parameters[name].annotation
    for info in getattr(annotation, "__metadata__", ()):
        # typer.Option("--log", ...) in an Annotated type keeps its first name as the default
        first = getattr(info, "default", None)
        decls = [first.split("/")[0]] if isinstance(first, str) else []  # --pairing/--no-pairing
        flags = [d for d in [*decls, *(getattr(info, "param_decls", None) or ())] if d.startswith("--")]
        if flags:
            return flags[0]
    return "--" + name.replace("_", "-")


def options_of(cls: type, values: dict[str, Any], **more: Any) -> Any:
    """``cls`` (a command's options dataclass) from the tool's parameters of its fields' names
    (``values``: the command function's ``locals()``; enum choices by value) and ``more``."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(cls)}
    given = {k: getattr(v, "value", v) for k, v in values.items() if k in names}
    return cls(**{**given, **more})


def show_table(title: str, columns: list[tuple[str, str]], rows: list[list[str]]) -> None:
    """A readable table on stderr (not with -q): ``columns`` are (header, justify) pairs."""
    if not log.isEnabledFor(logging.INFO):
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for header, justify in columns:
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(*row)
    Console(stderr=True, width=200).print(table)


def check_environment() -> None:
    """What start-up needs from the process, checked before any heavy import (torch's native
    start-up aborts with its own message and exit 2 in a deleted working directory): closed
    standard descriptors are taken over by /dev/null (see
    :func:`~deeptarget_core.streams.guard_standard_streams`); the working directory must exist
    and be searchable; a temporary directory must be usable. Else one ``error:`` line, exit 1."""
    import tempfile

    guard_standard_streams()
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # read by the native libraries when they load
        value = os.environ.get(var, "1").strip()
        if not all(part.isdigit() and int(part) >= 1 for part in value.split(",")):
            del os.environ[var]  # 0 or garbage: libgomp's own warning line otherwise; -p sets the threads
    if {"-h", "--help", "--version"} & set(sys.argv[1:]):
        return  # these print and exit: no file is touched
    try:
        os.stat(os.getcwd())
        os.stat(".")
    except OSError as exc:
        why = "was deleted" if exc.errno == errno.ENOENT else f"cannot be used ({exc.strerror})"
        fail(f"the working directory {why}: change to an existing directory and run again")
    try:
        tempfile.gettempdir()
    except (OSError, FileNotFoundError) as exc:
        fail(f"no usable temporary directory ({exc}); set TMPDIR to a writable directory")


def run(app: typer.Typer) -> None:
    """Entry point body: run the typer app; usage errors exit 2 (click's default).

    Once a tool that imported torch is done, the process ends without tearing the interpreter
    down (:func:`_quick_exit`): freeing torch's modules takes 0.4-0.5 s, more than the work of
    many a run (a pipe of small steps, a cluster job per shard). Other failures (a bug's
    traceback, Ctrl-C), and runs under a profiler or debugger, end the usual way."""
    deeptarget_tools.started()  # the tool's modules are imported: a bug shows its traceback
    try:
        check_environment()
        app()
    except OSError as exc:  # --help or --version written to a full disk or a closed pipe
        if exc.errno == errno.EPIPE:
            _silence_stdout()
            raise SystemExit(0) from None
        if exc.errno not in _WRITE_ERRNOS or exc.filename is not None:
            raise
        fail(f"stdout: {exc.strerror}")
    except SystemExit as exc:
        # under a profiler, tracer or debugger the usual exit lets them write their results
        if "torch" not in sys.modules or sys.getprofile() is not None or sys.gettrace() is not None:
            raise
        _quick_exit(exc.code)


def _quick_exit(code: int | str | None) -> None:
    """Exit as SystemExit(code) would, after the atexit handlers (logging, temporary files)
    and a flush of stdout/stderr, but without the interpreter's teardown. Output files are
    closed by then (every tool writes through context managers)."""
    import atexit

    if isinstance(code, str):  # SystemExit('message'): the message on stderr, exit status 1
        sys.stderr.write(code + "\n")
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # closed when the tool started
            continue
        try:
            stream.flush()
        except BrokenPipeError:  # the reader went away (`| head`): not an error, as above
            _silence_stdout()
        except (OSError, ValueError):  # a closed stream: nothing left to flush
            pass
    os._exit(code or 0)
