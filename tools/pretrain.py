"""dt-pretrain (not implemented yet: issue 9)."""

from __future__ import annotations

from deeptarget_tools import _cli
from deeptarget_tools.options import OptVersion

app = _cli.make_app("dt-pretrain: not implemented yet.")


@app.command()
def command(version: OptVersion = None) -> None:
    """Not implemented yet."""
    _cli.not_implemented("dt-pretrain", "issue 9")


def main() -> None:
    _cli.run(app)
