"""Runtime set-up shared by every operation that runs a network: torch's threads and the device.

One call (:func:`setup`) instead of each tool setting threads and resolving the device itself.
"""

from __future__ import annotations


def setup(threads: int, device: str = "cpu"):
    """Set torch's intra-op threads and return the ``torch.device`` for ``device`` ('auto':
    CUDA when present, else the CPU). A CUDA request without CUDA raises
    :class:`~deeptarget_core.errors.DeviceUnavailable`."""
    import torch

    from .model import resolve_device

    torch.set_num_threads(threads)
    return resolve_device(device)
