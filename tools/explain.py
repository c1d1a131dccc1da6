"""dt-explain (not implemented yet: issue 4)."""

from __future__ import annotations

from deeptarget_tools import _cli
from deeptarget_tools.options import OptVersion

app = _cli.make_app("dt-explain: not implemented yet.")


@app.command()
def command(version: OptVersion = None) -> None:
    """Not implemented yet."""
    _cli.not_implemented("dt-explain", "issue 4")


def main() -> None:
    _cli.run(app)
