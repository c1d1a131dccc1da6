"""``--help`` of every executable: what the tool does first, then its options in panels.

typer gives a one-command app the command's docstring as its help and drops the app's
description; :func:`with_description` (applied to ``_cli.make_app``) puts the description
first and the docstring after it. Options are grouped by their ``rich_help_panel`` (the
shared ones get theirs in ``options.py``): Input, the tool's own options, Model, Output,
any panel of the tool's own, Runtime. The help stays plain text (click's formatter), so pipes, docs and tests see no
box-drawing characters.
"""

from __future__ import annotations

import functools
import inspect
from typing import Callable

import typer
from typer.core import TyperCommand

DEFAULT_PANEL = "Options"
PANEL_ORDER = ("Input", DEFAULT_PANEL, "Model", "Output", "Runtime")


class PanelHelp:
    """Mixin for a click command: options under one heading per panel."""

    def format_options(self, ctx, formatter) -> None:  # click.Command API
        groups: dict[str, list[tuple[str, str]]] = {}
        help_option = self.get_help_option(ctx)  # type: ignore[attr-defined]
        for param in self.get_params(ctx):  # type: ignore[attr-defined]
            record = param.get_help_record(ctx)
            if record is None:
                continue
            panel = getattr(param, "rich_help_panel", None)
            if panel is None:
                panel = "Runtime" if param is help_option else "Input" if param.param_type_name == "argument" else DEFAULT_PANEL
            groups.setdefault(panel, []).append(record)
        # a tool's own panels (dt-train's two trainings) before Runtime, which always ends the help
        known, runtime = [p for p in PANEL_ORDER[:-1] if p in groups], [p for p in PANEL_ORDER[-1:] if p in groups]
        order = known + [p for p in groups if p not in PANEL_ORDER] + runtime
        for panel in order:
            with formatter.section(panel):
                formatter.write_dl(groups[panel])


def with_description(make_app: Callable[[str], typer.Typer]) -> Callable[[str], typer.Typer]:
    """Decorate ``make_app(help_text)``: each command registered on the app gets ``help_text``
    followed by its own docstring as help, and panel-grouped options."""

    @functools.wraps(make_app)
    def wrapper(help_text: str) -> typer.Typer:
        app = make_app(help_text)
        register = app.command

        def command(*args, **kwargs):
            def decorator(func):
                if "help" not in kwargs:
                    doc = inspect.cleandoc(func.__doc__ or "")
                    kwargs["help"] = help_text + (f"\n\n{doc}" if doc else "")
                result = register(*args, **kwargs)(func)
                info = app.registered_commands[-1]
                base = info.cls or TyperCommand
                if not issubclass(base, PanelHelp):
                    info.cls = type(base.__name__, (PanelHelp, base), {})
                return result

            return decorator

        app.command = command  # type: ignore[method-assign]
        return app

    return wrapper
