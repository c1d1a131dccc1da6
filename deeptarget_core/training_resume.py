"""The resume file of an interrupted dt-train run (``OUTPUT.resume``, written after every
epoch): the fingerprint of what a resumed run must share with the interrupted one (options,
and the data by content), its check, and writing and reading the file (weights, best weights,
optimizer, torch's RNG, the log so far). The training loop itself is :mod:`deeptarget_core.train`.

Exactness: the file holds the state at an epoch boundary only, all of it written at once
(atomically), so an interruption anywhere (mid-batch, during validation, while the file or
the model is written) loses at most the epoch under way, which the resumed run repeats from
the same state: its weights, log and checkpoint bytes are those of an uninterrupted run on
the same device (each epoch's shuffle is seeded by its number, dropout's RNG is restored).
"""

from __future__ import annotations

import hashlib
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from .errors import InputError
from .model import CheckpointInfo, DeepTarget, ModelConfig, read_checkpoint, save_checkpoint

if TYPE_CHECKING:
    from .train import PairData, TrainOptions

log = logging.getLogger("deeptarget")


def _data_digest(data: PairData | None) -> str | None:
    if data is None:
        return None
    h = hashlib.sha256()
    for array in (data.mirna, data.cts, data.labels):
        h.update(np.ascontiguousarray(array).tobytes())
    h.update("\t".join(data.groups).encode())
    return h.hexdigest()[:16]


def resume_fingerprint(
    config: ModelConfig, options: TrainOptions, train: PairData, val: PairData | None, pretrained: str | Path | None
) -> dict[str, Any]:
    """What a resumed run must share with the interrupted one, by option (the names of
    :class:`~deeptarget_core.train_command.TrainCommand`'s fields; the epochs and the device may
    change). The data are compared by content, so a renamed copy resumes."""
    from .model import file_digest

    pre = None if pretrained is None else file_digest(pretrained)[:16]
    return {
        "cts_length": config.cts_length,
        "cell": config.cell,
        "layers": config.layers,
        "bidirectional": config.bidirectional,
        "dropout": config.dropout,
        "pairing": bool(config.pairing_offsets),
        "site_prior": config.site_prior,
        "batch_size": options.batch_size,
        "lr": options.lr,
        "patience": options.patience,
        "seed": options.seed,
        "balance_by_mirna": options.balance_by_mirna,
        "select_by": options.select_by,
        "train (its content)": _data_digest(train),
        "val (its content)": _data_digest(val),
        "pretrained (its content)": pre,
    }


def check_resume(saved: dict[str, Any] | None, now: dict[str, Any], name: str) -> None:
    """Refuse to resume a run with other options or data, naming the first difference."""
    if not isinstance(saved, dict):
        raise InputError("this resume file records no options (older version): start again without resuming", name)
    for key, value in now.items():
        if saved.get(key) != value:
            option, what = key.split(" ", 1) if " " in key else (key, "")
            raise InputError(
                f"resuming: {{option}}{' ' + what if what else ''} differs from the interrupted run ({saved.get(key)} then, "
                f"{value} now); resume with the same options and data, or start again without resuming",
                name,
                option=option,
            )


def save_resume(path, model, best_state, opt, history, best_auc, stale, config, options, fingerprint=None) -> None:
    holder_state = {f"model.{k}": v for k, v in model.state_dict().items()}
    if best_state:
        holder_state.update({f"best.{k}": v for k, v in best_state.items()})
    holder_state["rng"] = torch.get_rng_state()
    if next(model.parameters()).is_cuda:  # dropout on a GPU draws from the device's generator
        holder_state["cuda_rng"] = torch.cuda.get_rng_state(next(model.parameters()).device)

    class _Holder(nn.Module):
        def state_dict(self, *a, **k):  # type: ignore[override]
            return holder_state

    info = CheckpointInfo(
        kind="resume",
        config=config,
        seed=options.seed,
        extra={
            "optimizer": opt.state_dict(),
            "history": history,
            "best_auc": best_auc,
            "stale": stale,
            "fingerprint": fingerprint,
            "arithmetic": _arithmetic(model),
        },
    )
    save_checkpoint(path, _Holder(), info)


def _arithmetic(model: nn.Module) -> dict[str, Any]:
    """What the bits of the arithmetic depend on besides the state: the device and the threads."""
    return {"device": next(model.parameters()).device.type, "threads": torch.get_num_threads()}


def load_resume(resume_path: str | Path, fingerprint: dict[str, Any], model: DeepTarget, opt, epochs: int) -> tuple:
    """Load an interrupted run's state into ``model`` and ``opt`` (and torch's RNG); returns
    (history, best weights, best selection score, epochs without gain). ``epochs``: the
    resumed run's number, which may grow but not fall below the epochs already trained."""
    state, info = read_checkpoint(resume_path, expect_kind="resume")
    check_resume(info.extra.get("fingerprint"), fingerprint, str(resume_path))
    done = len(info.extra["history"])
    if done > epochs:
        raise InputError(
            f"resuming: the interrupted run has trained {done} epochs already, more than {{option}} {epochs}; "
            f"resume with {{option}} {done} or more, or start again without resuming",
            str(resume_path),
            option="epochs",
        )
    then, now = info.extra.get("arithmetic"), _arithmetic(model)
    if now["device"] == "cuda" and then == now:
        log.warning(
            "resuming on a GPU: its kernels need not repeat bit for bit, so the weights may differ slightly from an uninterrupted run's"
        )
    elif then is not None and then != now:
        log.warning(
            "resuming on %s with %d thread(s) a run interrupted on %s with %d: the weights will be close to, "
            "but need not be bit-identical with, an uninterrupted run's",
            now["device"],
            now["threads"],
            then["device"],
            then["threads"],
        )
    model.load_state_dict({k[6:]: v for k, v in state.items() if k.startswith("model.")})
    best_state = {k[5:]: v for k, v in state.items() if k.startswith("best.")} or None
    opt.load_state_dict(info.extra["optimizer"])
    torch.set_rng_state(state["rng"])
    if "cuda_rng" in state and next(model.parameters()).is_cuda:
        torch.cuda.set_rng_state(state["cuda_rng"], next(model.parameters()).device)
    # The log's keys as the training loop makes them (one string object per name): the
    # checkpoint's pickle refers back to a string it has written, so keys read back as new
    # objects would change the model file's bytes, though not its content.
    history = [{sys.intern(k): v for k, v in row.items()} for row in info.extra["history"]]
    best_auc = info.extra["best_auc"]
    log.info("resuming after epoch %d (best validation ROC-AUC %.4f)", len(history), best_auc)
    return history, best_state, best_auc, info.extra["stale"]
