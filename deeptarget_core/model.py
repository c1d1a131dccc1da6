"""The deepTarget network (Lee et al., ACM-BCB 2016, section 3) and its checkpoints.

* Each nucleotide is a learned 4-dim vector (code 0 = padding/N is the zero vector).
* Two RNN autoencoders (miRNA, CTS), 4-30-4: embedding -> encoder RNN (30) -> decoder RNN
  -> per-position nucleotide logits (reconstruction by cross-entropy).
* The classifier joins the two pre-trained encoders position by position: miRNA 5'->3'
  padded to the CTS length, CTS read 3'->5' so that its seed match lines up with the
  miRNA's 5' end; the 60-dim concatenation feeds a stacked RNN (60-30 by default) and a
  2-unit output (softmax in the loss / at prediction).
* Our extension (``pairing_offsets``, off in the paper's network): a few explicit base-pairing
  channels join the concatenation. Channel k at step i says whether miRNA nt i+1 pairs with
  the CTS nucleotide read k steps later (1 Watson-Crick, 0.5 G:U, 0 otherwise). The encoders
  see each sequence alone, so without these channels the stacked RNN has to learn
  complementarity from two summaries; with them it is given the duplex, which is what
  carries over to miRNAs never seen in training.
* Our extension (``site_prior``, off in the paper's network): one log-odds offset per seed-match
  type of the pair (8mer ... 7mer-mismatch, none; :func:`sites.best_site_types`), added to the
  network's output and fitted on the validation table after training with the network
  frozen (:func:`train.fit_site_offsets`). Training negatives include seed-matched decoys, so
  the network alone learns to distrust seed matches and scores a window without any seed
  above a decoy-like 8mer; the offsets restore the site-type hierarchy that the network's
  training mixture hides (see docs/results.md).

A checkpoint is one self-describing dict saved with ``torch.save`` and read with
``torch.load(weights_only=True)``: plain types and tensors only, never code.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import __version__
from .errors import DeviceUnavailable, InputError
from .seq import VOCAB_SIZE
from .sites import NO_SITE_INDEX
from .streams import atomic_output

CHECKPOINT_FORMAT = "deeptarget-checkpoint"
CHECKPOINT_VERSION = 1
ENCODING = {
    "alphabet": "ACGU",
    "codes": "0=pad/N,1=A,2=C,3=G,4=U",
    "mirna_orientation": "5'->3', right-padded to cts_length",
    "cts_orientation": "read 3'->5' (reversed) by the network",
}
DEFAULT_MODEL_PATH = Path(__file__).parent / "models" / "default.pt"

_CELLS = {"gru": nn.GRU, "lstm": nn.LSTM}

# The CTS window puts the site's 3' end at position cts_length - 4 (sites.CTS_DOWNSTREAM), so
# read 3'->5' the A1 / nt-1 partner is step 4 and miRNA nt i+1 faces step i + 4 in an 8mer or
# 7mer-A1, i + 3 in a 7mer-m8 / 6mer (their site end is the nt-2 pair); 5 allows one bulge.
DEFAULT_PAIRING_OFFSETS = (3, 4, 5)


def _pairing_table() -> torch.Tensor:
    """(5, 5) pairing value of miRNA code x target code (0 = pad/N never pairs)."""
    table = torch.zeros(VOCAB_SIZE, VOCAB_SIZE)
    code = {c: i + 1 for i, c in enumerate("ACGU")}
    for m, t in [("A", "U"), ("U", "A"), ("G", "C"), ("C", "G")]:
        table[code[m], code[t]] = 1.0
    for m, t in [("G", "U"), ("U", "G")]:
        table[code[m], code[t]] = 0.5
    return table


PAIRING_TABLE = _pairing_table()


def pairing_features(
    mirna_codes: torch.Tensor, cts_codes: torch.Tensor, offsets: tuple[int, ...], out: torch.Tensor | None = None
) -> torch.Tensor:
    """(B, L) miRNA codes 5'->3' (padded to L) and (B, L) CTS codes 5'->3' -> (B, L, K):
    channel k at step i = pairing of miRNA nt i+1 with the reversed CTS at step i + offsets[k].

    One table lookup per offset. ``out`` may be any (B, L, K) view, e.g. the transpose of a
    step-major buffer (the fused predict path writes the channels next to the CTS states)."""
    B, L = cts_codes.shape
    if out is None:
        out = torch.empty(B, L, len(offsets), device=cts_codes.device)
    table = PAIRING_TABLE.to(out.device, out.dtype).flatten()  # index = 5 * miRNA code + target code
    m5 = mirna_codes.long() * VOCAB_SIZE
    rev = nn.functional.pad(torch.flip(cts_codes.long(), dims=[1]), (0, max(offsets, default=0)))
    for j, k in enumerate(offsets):
        out[:, :, j] = table[m5 + rev[:, k : k + L]]
    return out


@dataclass
class ModelConfig:
    cts_length: int = 40
    embedding_dim: int = 4
    encoder_hidden: int = 30
    cell: str = "gru"  # of the stacked interaction RNN (the encoders follow it too)
    layers: int = 2  # 1 -> (30,), 2 -> (60, 30), 3 -> (60, 60, 30)
    bidirectional: bool = False
    dropout: float = 0.1
    pairing_offsets: tuple[int, ...] = ()  # () = the paper's network; see DEFAULT_PAIRING_OFFSETS
    site_prior: bool = False  # per-site-type log-odds offsets (module doc); False = the paper's network

    def __post_init__(self) -> None:
        self.pairing_offsets = tuple(int(k) for k in self.pairing_offsets)
        if any(not 0 <= k < self.cts_length for k in self.pairing_offsets):
            raise ValueError("pairing offsets must lie in 0..cts_length-1")
        if self.cell not in _CELLS:
            raise ValueError(f"cell must be one of {sorted(_CELLS)}")
        if not 1 <= self.layers <= 3:
            raise ValueError("layers must be 1, 2 or 3")

    @property
    def hidden_sizes(self) -> tuple[int, ...]:
        return {1: (30,), 2: (60, 30), 3: (60, 60, 30)}[self.layers]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


def _rnn_output(rnn: nn.Module, x: torch.Tensor) -> torch.Tensor:
    out, _ = rnn(x)
    return out


class SequenceAutoencoder(nn.Module):
    """Embedding -> encoder RNN -> decoder RNN -> nucleotide logits per position."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        rnn = _CELLS[config.cell]
        self.embedding = nn.Embedding(VOCAB_SIZE, config.embedding_dim, padding_idx=0)
        self.encoder = rnn(config.embedding_dim, config.encoder_hidden, batch_first=True)
        self.decoder = rnn(config.encoder_hidden, config.encoder_hidden, batch_first=True)
        self.output = nn.Linear(config.encoder_hidden, VOCAB_SIZE - 1)  # A, C, G, U

    def encode(self, codes: torch.Tensor) -> torch.Tensor:
        """(B, L) codes -> (B, L, encoder_hidden) per-position representations."""
        return self.encode_embedded(self.embedding(codes.long()))

    def encode_embedded(self, embedded: torch.Tensor) -> torch.Tensor:
        """(B, L, embedding_dim) nucleotide vectors -> (B, L, encoder_hidden) (for attributions)."""
        return _rnn_output(self.encoder, embedded)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        """(B, L) -> (B, L, 4) logits over A/C/G/U (targets: codes - 1, pads ignored)."""
        return self.output(_rnn_output(self.decoder, self.encode(codes)))


class DeepTarget(nn.Module):
    """miRNA encoder + CTS encoder -> position-wise concatenation -> stacked RNN -> 2 logits."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.mirna_ae = SequenceAutoencoder(config)
        self.cts_ae = SequenceAutoencoder(config)
        rnn = _CELLS[config.cell]
        layers = []
        size = 2 * config.encoder_hidden + len(config.pairing_offsets)
        directions = 2 if config.bidirectional else 1
        for hidden in config.hidden_sizes:
            layers.append(rnn(size, hidden, batch_first=True, bidirectional=config.bidirectional))
            size = hidden * directions
        self.interaction = nn.ModuleList(layers)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(size, 2)
        if config.site_prior:  # index = sites.SITE_TYPES position, NO_SITE_INDEX = no seed match
            self.register_buffer("site_offsets", torch.zeros(NO_SITE_INDEX + 1))

    # Kept separate so that prediction can encode each miRNA once and reuse it for all its CTSs.
    def _mirna_to_length(self, mirna_codes: torch.Tensor) -> torch.Tensor:
        """(B, Lm) miRNA codes -> (B, cts_length), right-padded with 0 or cut."""
        L = self.config.cts_length
        codes = mirna_codes.long()
        if codes.shape[1] < L:
            codes = nn.functional.pad(codes, (0, L - codes.shape[1]))
        return codes[:, :L]

    def encode_mirna(self, mirna_codes: torch.Tensor) -> torch.Tensor:
        """(B, Lm) miRNA codes 5'->3' -> (B, cts_length, H), padded/cut to the CTS length."""
        return self.mirna_ae.encode(self._mirna_to_length(mirna_codes))

    def encode_cts(self, cts_codes: torch.Tensor) -> torch.Tensor:
        """(B, L) CTS codes 5'->3' as on the target -> (B, L, H), read 3'->5'."""
        return self.cts_ae.encode(torch.flip(cts_codes.long(), dims=[1]))

    def pairing(self, mirna_codes: torch.Tensor, cts_codes: torch.Tensor) -> torch.Tensor | None:
        """(B, L, K) base-pairing channels, or None for the paper's network (no offsets)."""
        if not self.config.pairing_offsets:
            return None
        return pairing_features(self._mirna_to_length(mirna_codes), cts_codes, self.config.pairing_offsets)

    def interaction_states(
        self, mirna_states: torch.Tensor, cts_states: torch.Tensor, pairing: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        """Outputs of every stacked-RNN layer, (B, L, hidden) each (for dt-explain)."""
        parts = [mirna_states, cts_states] + ([] if pairing is None else [pairing])
        x = torch.cat(parts, dim=2)
        states = []
        for i, layer in enumerate(self.interaction):
            if i:
                x = self.dropout(x)
            x = _rnn_output(layer, x)
            states.append(x)
        return states

    def classify(self, mirna_states: torch.Tensor, cts_states: torch.Tensor, pairing: torch.Tensor | None = None) -> torch.Tensor:
        last = self.interaction_states(mirna_states, cts_states, pairing)[-1]
        if self.config.bidirectional:
            half = last.shape[2] // 2
            summary = torch.cat([last[:, -1, :half], last[:, 0, half:]], dim=1)
        else:
            summary = last[:, -1, :]
        return self.classifier(self.dropout(summary))

    def classify_embedded(
        self, mirna_embedded: torch.Tensor, cts_embedded: torch.Tensor, pairing: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B, 2) logits from nucleotide vectors: (B, L, E) miRNA 5'->3' (padded to L) and
        (B, L, E) CTS 5'->3' as on the target; ``pairing`` (B, L, K) channels, zero when not
        given for a model that has them. The interface of attributions (dt-explain)."""
        m_states = self.mirna_ae.encode_embedded(mirna_embedded)
        c_states = self.cts_ae.encode_embedded(torch.flip(cts_embedded, dims=[1]))
        if pairing is None and self.config.pairing_offsets:
            pairing = mirna_embedded.new_zeros(mirna_embedded.shape[0], mirna_embedded.shape[1], len(self.config.pairing_offsets))
        return self.classify(m_states, c_states, pairing)

    def forward(self, mirna_codes: torch.Tensor, cts_codes: torch.Tensor) -> torch.Tensor:
        """(B, Lm) and (B, L) codes -> (B, 2) logits (class 1 = target)."""
        return self.classify(self.encode_mirna(mirna_codes), self.encode_cts(cts_codes), self.pairing(mirna_codes, cts_codes))

    def target_logit(self, logits: torch.Tensor, site_type: torch.Tensor | None = None) -> torch.Tensor:
        """(B, 2) network logits -> (B,) log-odds of 'target', plus the site-type offset when
        the model has a site prior (``site_type``: (B,) indexes, NO_SITE_INDEX = none)."""
        z = logits[:, 1] - logits[:, 0]
        if self.config.site_prior:
            if site_type is None:
                raise ValueError("this model has a site-type prior: the pairs' site types are needed")
            z = z + self.site_offsets.to(z.dtype)[site_type.long()]
        return z

    @torch.no_grad()
    def predict_proba(
        self, mirna_codes: torch.Tensor, cts_codes: torch.Tensor, site_type: torch.Tensor | None = None
    ) -> torch.Tensor:
        return torch.sigmoid(self.target_logit(self(mirna_codes, cts_codes), site_type))


# --------------------------------------------------------------------------- checkpoints


@dataclass
class CheckpointInfo:
    """Everything in a checkpoint except the weights."""

    kind: str  # "classifier" or "autoencoders"
    config: ModelConfig
    package_version: str = __version__
    seed: int | None = None
    training_data_digest: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def check_checkpoint_name(path: str | Path) -> None:
    """Checkpoints are zip archives written as they are: a '.gz' name is refused (early, by the
    tools, and again here), as :func:`read_checkpoint` refuses gzip-compressed ones."""
    if str(path).endswith(".gz"):
        raise InputError("checkpoints are not gzip-compressed (they are zip archives already): drop the '.gz'", str(path))


def save_checkpoint(path: str | Path, model: nn.Module, info: CheckpointInfo) -> None:
    """Atomically write a self-describing checkpoint (weights + architecture + provenance)."""

    check_checkpoint_name(path)

    payload = {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_VERSION,
        "package_version": info.package_version,
        "kind": info.kind,
        "config": asdict(info.config),
        "encoding": dict(ENCODING),
        "cts_length": info.config.cts_length,
        "seed": info.seed,
        "training_data_digest": info.training_data_digest,
        "metrics": info.metrics,
        "extra": info.extra,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    bad = _non_finite(payload["state_dict"])
    if bad:
        raise InputError(
            f"refusing to save: weight '{bad}' is not finite (nan/inf): training diverged; lower the learning rate", str(path)
        )
    import io as _io

    buffer = _io.BytesIO()  # serialised first: a closed stdout pipe then fails on a plain write
    torch.save(payload, buffer)
    with atomic_output(path, binary=True) as handle:
        handle.write(buffer.getbuffer())


def _non_finite(state: dict) -> str | None:
    """Name of the first floating-point tensor holding nan or inf, else None."""
    for k, v in state.items():
        if isinstance(v, torch.Tensor) and v.is_floating_point() and not bool(torch.isfinite(v).all()):
            return k
    return None


_CONFIG_TYPES: dict[str, tuple[type, ...]] = {
    "cts_length": (int,),
    "embedding_dim": (int,),
    "encoder_hidden": (int,),
    "cell": (str,),
    "layers": (int,),
    "bidirectional": (bool,),
    "dropout": (float, int),
    "pairing_offsets": (list, tuple),
    "site_prior": (bool,),
}
_CONFIG_RANGES = {"cts_length": (1, 10_000), "embedding_dim": (1, 4096), "encoder_hidden": (1, 4096), "dropout": (0.0, 0.99)}
_KINDS = ("classifier", "autoencoders", "resume")
_CHECKPOINT_CAP = 256 << 20  # read a pipe or device into memory up to this size
_PIPED: dict[str, bytes] = {}  # checkpoints read from a pipe: read once, kept for a second look


def _validate_payload(payload: dict, name: str) -> None:
    """Types and ranges of an (edited) checkpoint's fields, naming the first bad one."""

    def bad(field: str, why: str) -> InputError:
        return InputError(f"checkpoint field '{field}' {why}", name)

    if payload.get("kind") not in _KINDS:
        raise bad("kind", f"is {payload.get('kind')!r}; expected one of {', '.join(_KINDS)}")
    config = payload.get("config")
    if not isinstance(config, dict):
        raise bad("config", f"must be a dict of the architecture, found {type(config).__name__}")
    for key, types in _CONFIG_TYPES.items():
        if key not in config:
            continue
        value = config[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise bad(f"config.{key}", f"has type {type(value).__name__}; expected {'/'.join(t.__name__ for t in types)}")
        if key in _CONFIG_RANGES:
            low, high = _CONFIG_RANGES[key]
            if not (low <= value <= high):  # also false for nan
                raise bad(f"config.{key}", f"is {value}; expected {low}-{high}")
        if key == "pairing_offsets" and not all(isinstance(k, int) and not isinstance(k, bool) for k in value):
            raise bad("config.pairing_offsets", "must be a list of whole numbers")
    state = payload.get("state_dict")
    if "state_dict" not in payload:
        raise bad("state_dict", "is missing: the file holds no weights")
    if not isinstance(state, dict):
        raise bad("state_dict", f"must be a dict of weight tensors, found {type(state).__name__}")
    for k, v in state.items():
        if not isinstance(k, str) or not isinstance(v, torch.Tensor):
            raise bad(f"state_dict.{k}", "is not a named tensor")
    non_finite = _non_finite(state)
    if non_finite:
        raise bad(f"state_dict.{non_finite}", "holds nan or inf: the model is broken (training diverged?)")
    for key in ("metrics", "extra"):
        if payload.get(key) is not None and not isinstance(payload[key], dict):
            raise bad(key, f"must be a dict, found {type(payload[key]).__name__}")


def check_state_shapes(model: nn.Module, state: dict, name: str) -> None:
    """The weights must be exactly the tensors the described architecture has: name the first
    missing, unexpected or mis-shaped one."""
    want = model.state_dict()
    for k, v in want.items():
        if k not in state:
            raise InputError(f"checkpoint weights do not fit the architecture it describes: field 'state_dict' lacks '{k}'", name)
        if tuple(state[k].shape) != tuple(v.shape):
            raise InputError(
                f"checkpoint weights do not fit the architecture it describes: field 'state_dict.{k}' has shape "
                f"{tuple(state[k].shape)}, its config needs {tuple(v.shape)}",
                name,
            )
    extra = [k for k in state if k not in want]
    if extra:
        raise InputError(
            f"checkpoint weights do not fit the architecture it describes: field 'state_dict.{extra[0]}' is not part of it", name
        )


def read_checkpoint(path: str | Path, expect_kind: str | None = None) -> tuple[dict[str, torch.Tensor], CheckpointInfo]:
    """Load a checkpoint safely (weights-only); InputError for anything that is not ours."""
    name = str(path)
    if name == "-":
        raise InputError("checkpoints are not read from stdin ('-'); give the checkpoint file's name", "-")
    p = Path(name)
    if not p.exists():
        raise InputError("no such checkpoint file", name)
    if p.is_dir():
        raise InputError("is a directory, expected a checkpoint file", name)
    import io as _io
    import stat

    try:
        if name in _PIPED:  # a pipe read before in this run: its bytes were kept
            regular, head = False, _PIPED[name]
        else:
            with open(p, "rb") as f:
                regular = stat.S_ISREG(os.fstat(f.fileno()).st_mode)
                head = f.read(4) if regular else f.read(_CHECKPOINT_CAP + 1)
            if not regular and len(head) <= _CHECKPOINT_CAP:
                _PIPED[name] = head
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror}", name) from exc
    if not regular and len(head) > _CHECKPOINT_CAP:
        raise InputError(f"not a checkpoint: more than {_CHECKPOINT_CAP >> 20} MB from a pipe or device", name)
    if not head:
        raise InputError("not a readable deepTarget checkpoint: the file is empty", name)
    if head[:2] == b"\x1f\x8b":
        raise InputError(
            "the checkpoint is gzip-compressed: checkpoints are read uncompressed (they are zip archives "
            "already); gunzip it first",
            name,
        )
    if head[:4] != b"PK\x03\x04" and head[:1] != b"\x80":
        raise InputError("not a deepTarget checkpoint (neither a torch zip archive nor a pickle)", name)
    source = p if regular else _io.BytesIO(head)  # a pipe is read once, into memory
    try:
        with warnings.catch_warnings():  # torch warns about foreign pickles before refusing them
            warnings.simplefilter("ignore", UserWarning)
            payload = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for truncated / foreign / unsafe files
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "weights_only" in str(exc) or "Unsupported global" in str(exc):
            raise InputError(
                "refused: the file holds Python objects or code, not a deepTarget checkpoint "
                "(checkpoints are loaded weights-only)",
                name,
            ) from exc
        raise InputError(f"not a readable deepTarget checkpoint (truncated or corrupt?): {text}", name) from exc
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        from .gene_model import GENE_FORMAT

        if isinstance(payload, dict) and payload.get("format") == GENE_FORMAT:
            raise InputError(
                "this is a gene model (dt-train --level gene), not a site network (dt-predict and dt-explain take it as --gene-model)",
                name,
            )
        raise InputError("not a deepTarget checkpoint (no 'format' marker)", name)
    if payload.get("format_version") != CHECKPOINT_VERSION:
        raise InputError(
            f"checkpoint format version {payload.get('format_version')} written by deeptarget "
            f"{payload.get('package_version')}; this is deeptarget {__version__} (format {CHECKPOINT_VERSION}): "
            "retrain or use the matching version",
            name,
        )
    if expect_kind is not None and payload.get("kind") != expect_kind:
        raise InputError(f"expected a {expect_kind} checkpoint, found '{payload.get('kind')}'", name)
    _validate_payload(payload, name)
    try:
        config = ModelConfig.from_dict(payload["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"checkpoint has an invalid architecture description (field 'config'): {exc}", name) from exc
    info = CheckpointInfo(
        kind=payload["kind"],
        config=config,
        package_version=payload.get("package_version", "?"),
        seed=payload.get("seed"),
        training_data_digest=payload.get("training_data_digest"),
        metrics=payload.get("metrics") or {},
        extra=payload.get("extra") or {},
    )
    return payload["state_dict"], info


def load_model(path: str | Path | None = None, device: str | torch.device = "cpu") -> tuple[DeepTarget, CheckpointInfo]:
    """A classifier checkpoint as an eval-mode :class:`DeepTarget` (default: packaged model)."""
    path = DEFAULT_MODEL_PATH if path is None else path
    state, info = read_checkpoint(path, expect_kind="classifier")
    model = DeepTarget(info.config)
    check_state_shapes(model, state, str(path))
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise InputError(
            "checkpoint weights do not fit the architecture it describes (another architecture?)", str(path)
        ) from exc
    model.to(device).eval()
    return model, info


def resolve_device(name: str) -> torch.device:
    """'auto' -> cuda when available; 'cuda' without a GPU is an input error, not a crash."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailable("device 'cuda' requested but CUDA is not available")
    return torch.device(name)


def file_digest(*paths: str | Path) -> str:
    """sha256 over the bytes of the given files (training-data provenance). A pipe (FIFO,
    process substitution) cannot be read a second time: it is left out, except a checkpoint
    read from one, whose bytes are kept."""
    import stat

    h = hashlib.sha256()
    for p in paths:
        if str(p) in _PIPED:
            h.update(_PIPED[str(p)])
            continue
        try:
            if not stat.S_ISREG(os.stat(p).st_mode):
                continue
        except OSError:
            continue
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()
