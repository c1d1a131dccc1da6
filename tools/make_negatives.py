"""dt-make-negatives (not implemented yet: issue 3)."""

from __future__ import annotations

from deeptarget_tools import _cli
from deeptarget_tools.options import OptVersion

app = _cli.make_app("dt-make-negatives: not implemented yet.")


@app.command()
def command(version: OptVersion = None) -> None:
    """Not implemented yet."""
    _cli.not_implemented("dt-make-negatives", "issue 3")


def main() -> None:
    _cli.run(app)
