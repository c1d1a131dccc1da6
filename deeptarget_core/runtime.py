"""Runtime set-up shared by every operation that runs a network: torch's threads and the device;
and the progress protocol the command-level calls (``*_command.run_*``) accept.

One call (:func:`setup`) instead of each tool setting threads and resolving the device itself.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, ContextManager, Iterator

# ``progress(description, total)``: a context manager giving an ``advance(n)`` callable (the
# tools pass their progress bar; the library's default is :func:`no_progress`).
Progress = Callable[[str, "int | None"], ContextManager[Callable[[int], None]]]


@contextmanager
def no_progress(description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """The progress of a caller that shows none."""
    yield lambda n=1: None


def setup(threads: int, device: str = "cpu"):
    """Set torch's intra-op threads and return the ``torch.device`` for ``device`` ('auto':
    CUDA when present, else the CPU). A CUDA request without CUDA raises
    :class:`~deeptarget_core.errors.DeviceUnavailable`."""
    import torch

    from .model import resolve_device

    torch.set_num_threads(threads)
    return resolve_device(device)
