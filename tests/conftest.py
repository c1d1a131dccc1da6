"""Shared test constants and fixtures.

Constants (import them with ``from conftest import ROOT, BIN, ...``): the repository root,
the folder of the installed dt-* commands, the bundled examples and the public data folder.
Fixtures: ``device`` runs a model test on the CPU and, where a CUDA device is present, again
on it (the ``cuda`` parameter carries the ``cuda`` marker: ``pytest -m cuda`` runs only those).
``make_toy`` builds a small seeded network whose scores spread away from 0.5.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
EXAMPLES = ROOT / "examples"
SHARED = ROOT.parent / "shared" / "data"
TOOLS = ("dt-scan-cts", "dt-make-negatives", "dt-pretrain", "dt-train", "dt-predict", "dt-eval", "dt-explain")


def make_toy(path: Path | None = None, seed: int = 0, scale: float = 3.0, **cfg):
    """A seeded DeepTarget network (eval mode) with its weights scaled by ``scale`` so that
    scores are not all ~0.5; saved as a classifier checkpoint when ``path`` is given."""
    import torch

    from deeptarget_core.model import CheckpointInfo, DeepTarget, ModelConfig, save_checkpoint

    torch.manual_seed(seed)
    net = DeepTarget(ModelConfig(**cfg)).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(scale)
    if path is not None:
        save_checkpoint(path, net, CheckpointInfo(kind="classifier", config=net.config, seed=seed))
    return net


@pytest.fixture(params=["cpu", pytest.param("cuda", marks=pytest.mark.cuda)])
def device(request) -> str:
    """'cpu', then 'cuda' where a CUDA device is present (skipped elsewhere)."""
    if request.param == "cuda":
        import torch

        if not torch.cuda.is_available():
            pytest.skip("no CUDA device")
    return request.param
