"""dt-eval (not implemented yet: issue 8)."""

from __future__ import annotations

from deeptarget_tools import _cli
from deeptarget_tools.options import OptVersion

app = _cli.make_app("dt-eval: not implemented yet.")


@app.command()
def command(version: OptVersion = None) -> None:
    """Not implemented yet."""
    _cli.not_implemented("dt-eval", "issue 8")


def main() -> None:
    _cli.run(app)
