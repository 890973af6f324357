"""Checkpoints: a model's state, an optimizer's state and metadata in one safetensors file.

A checkpoint is a file :func:`convforge.save` writes (see :mod:`convforge.io.safetensors_io`)
of the structure::

    {"format": "convforge.checkpoint", "format_version": 2, "convforge_version": "0.1.0",
     "architecture": {"class": "Sequential", "repr": "..."},
     "model": model.state_dict(),            # entries stored under torch's key names
     "optimizer_class": "Adam", "optimizer": optimizer.state_dict(),   # or None, None
     "epoch": 3, "metadata": {...}}

The model's entries are stored under their bare state-dict names (``0.weight``), everything
else under dotted paths (``optimizer.state.0.exp_avg``), so a model-only checkpoint is a
state dict torch loads directly: ``torch_model.load_state_dict(safetensors.torch.load_file(path))``
(with an optimizer in the file, drop the ``optimizer.`` keys or pass ``strict=False``).
``cf.load(path)`` returns the structure above.

Loading checks the file (complete, a checkpoint), then the architecture and the optimizer
against it before assigning anything: a checkpoint of another architecture, a truncated or
corrupt file, or a file that is no checkpoint raises a ``ValueError`` naming the path and
the problem, and the model and the optimizer stay as they were. The ``.npz`` checkpoints of
convforge 0.1 still load, with a ``DeprecationWarning`` (:mod:`convforge.io.npz_legacy`).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from . import safetensors_io
from .npz_legacy import is_npz_checkpoint, read_npz_checkpoint

FORMAT = "convforge.checkpoint"
FORMAT_VERSION = 2
_REQUIRED = {"architecture": dict, "model": dict, "metadata": dict}


# --------------------------------------------------------------------------------------
# save
# --------------------------------------------------------------------------------------
def _model_state(owner: str, model) -> dict[str, np.ndarray]:
    if not hasattr(model, "state_dict") or not hasattr(model, "load_state_dict"):
        raise TypeError(f"{owner}: model must be a cf.nn.Module, but got {type(model).__name__}")
    return {name: np.array(value, copy=True) for name, value in model.state_dict().items()}


def _checkpoint_key(path: tuple) -> str:
    """The model's entries under their state-dict names, the rest under dotted paths."""
    if len(path) == 2 and path[0] == "model":
        return str(path[1])
    return safetensors_io.dotted_key(path)


def save_checkpoint(
    path: str | os.PathLike,
    model,
    optimizer=None,
    *,
    epoch: int | None = None,
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Save ``model`` (and ``optimizer``) to one safetensors file at exactly ``path``.

    The file is written next to ``path`` and then renamed over it, so an interrupted save
    never leaves a truncated checkpoint behind.

    Parameters
    ----------
    path : str or PathLike
        Destination (no suffix is added; ``.safetensors`` is the usual one).
    model : cf.nn.Module
        Its ``state_dict()`` (parameters and buffers) is saved, with its class name and repr.
    optimizer : cf.optim.Optimizer, optional
        Its ``state_dict()`` is saved too.
    epoch : int, optional
        Stored with the rest.
    metadata : dict, optional
        Anything JSON can hold (NumPy scalars are converted); read back with
        :func:`checkpoint_metadata` or as the return value of :func:`load_checkpoint`.

    Returns
    -------
    Path
        The file written.
    """
    owner = "save_checkpoint"
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"{owner}: metadata must be a dict or None, but got {type(metadata).__name__}")
    if epoch is not None and (isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer))):
        raise TypeError(f"{owner}: epoch must be an int or None, but got epoch={epoch!r}")
    if optimizer is not None and not hasattr(optimizer, "state_dict"):
        raise TypeError(
            f"{owner}: optimizer must be a cf.optim.Optimizer, but got {type(optimizer).__name__}"
        )
    from .. import __version__

    try:  # name the user's part when it is the culprit
        safetensors_io.flatten("metadata", metadata or {}, key_for=lambda p: "metadata")
    except TypeError as e:
        raise TypeError(f"{owner}: metadata must hold only JSON values, tensors and arrays: {e}") from e
    structure = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "convforge_version": __version__,
        "architecture": {"class": type(model).__name__, "repr": repr(model)},
        "model": _model_state(owner, model),
        "optimizer_class": None if optimizer is None else type(optimizer).__name__,
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "epoch": None if epoch is None else int(epoch),
        "metadata": metadata if metadata is not None else {},
    }
    tree, arrays = safetensors_io.flatten(owner, structure, key_for=_checkpoint_key)
    return safetensors_io.write_file(path, tree, arrays)


# --------------------------------------------------------------------------------------
# read and validate
# --------------------------------------------------------------------------------------
def _read(path: str | os.PathLike) -> dict[str, Any]:
    """The checked structure of a checkpoint file (ValueError naming the path)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    with open(path, "rb") as file:
        head = file.read(16)
    if is_npz_checkpoint(path):
        return read_npz_checkpoint(path)
    if head.startswith(b"PK\x03\x04"):
        raise ValueError(f"{path} is not a convforge checkpoint (a zip file without a checkpoint header)")
    if not safetensors_io.looks_like_safetensors(head):
        raise ValueError(f"{path} is not a convforge checkpoint (not a safetensors file)")
    structure = safetensors_io.load_structure(path)
    if not isinstance(structure, dict) or structure.get("format") != FORMAT:
        found = structure.get("format") if isinstance(structure, dict) else type(structure).__name__
        raise ValueError(f"{path} is not a convforge checkpoint: a safetensors file of format {found!r}")
    version = structure.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"{path} has checkpoint format version {version!r}, but this convforge reads versions up to "
            f"{FORMAT_VERSION}; it was written by convforge {structure.get('convforge_version')}"
        )
    for key, kind in _REQUIRED.items():
        if not isinstance(structure.get(key), kind):
            raise ValueError(f"{path} is corrupt: its {key!r} is missing or not a {kind.__name__}")
    structure["model"] = {name: np.asarray(value) for name, value in structure["model"].items()}
    return structure


def checkpoint_info(path: str | os.PathLike) -> dict[str, Any]:
    """Everything but the arrays of a checkpoint, after checking the file.

    Returns
    -------
    dict
        ``format``, ``format_version``, ``convforge_version``, ``architecture`` (``class``,
        ``repr``), ``parameters`` (``name``, ``shape``, ``dtype`` of each model entry),
        ``optimizer`` (``class`` and ``param_groups``; None if not saved), ``epoch`` and
        ``metadata``.
    """
    structure = _read(path)
    optimizer = structure.get("optimizer")
    return {
        "format": structure["format"],
        "format_version": structure["format_version"],
        "convforge_version": structure.get("convforge_version"),
        "architecture": structure["architecture"],
        "parameters": [
            {"name": name, "shape": list(value.shape), "dtype": value.dtype.str}
            for name, value in structure["model"].items()
        ],
        "optimizer": None
        if optimizer is None
        else {"class": structure.get("optimizer_class"), "param_groups": optimizer.get("param_groups")},
        "epoch": structure.get("epoch"),
        "metadata": structure["metadata"],
    }


def checkpoint_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The user's metadata of a checkpoint (the ``metadata`` given to :func:`save_checkpoint`)."""
    return _read(path)["metadata"]


# --------------------------------------------------------------------------------------
# load
# --------------------------------------------------------------------------------------
def _check_architecture(
    path: Path, structure: dict[str, Any], model_state: dict[str, np.ndarray], model
) -> None:
    saved_class = structure["architecture"].get("class")
    if saved_class != type(model).__name__:
        raise ValueError(
            f"{path} holds a {saved_class}, not a {type(model).__name__}: a checkpoint of another architecture"
        )
    saved = {name: value.shape for name, value in structure["model"].items()}
    missing = [name for name in model_state if name not in saved]
    unexpected = [name for name in saved if name not in model_state]
    mismatched = [
        f"{name}: checkpoint {saved[name]}, model {model_state[name].shape}"
        for name in model_state
        if name in saved and saved[name] != model_state[name].shape
    ]
    problems = []
    if missing:
        problems.append(f"missing {missing}")
    if unexpected:
        problems.append(f"unexpected {unexpected}")
    if mismatched:
        problems.append("shape mismatch " + "; ".join(mismatched))
    if problems:
        raise ValueError(
            f"{path} holds a {saved_class} of another architecture than this one: " + ", ".join(problems)
        )
    if structure["architecture"].get("repr") != repr(model):
        warnings.warn(
            f"{path}: the model's repr differs from the saved one although all names and shapes match "
            f"(saved:\n{structure['architecture'].get('repr')}\nnow:\n{model!r})",
            UserWarning,
            stacklevel=3,
        )


def _optimizer_state_dict(path: Path, structure: dict[str, Any], optimizer):
    state_dict, saved_class = structure.get("optimizer"), structure.get("optimizer_class")
    if state_dict is None:
        raise ValueError(f"{path} holds no optimizer state, but an optimizer was given to load it into")
    if saved_class != type(optimizer).__name__:
        raise ValueError(f"{path} holds the state of a {saved_class}, not of a {type(optimizer).__name__}")
    if not isinstance(state_dict, dict) or not isinstance(state_dict.get("state"), dict):
        raise ValueError(f"{path} is corrupt: its optimizer state is garbled")
    return state_dict


def load_checkpoint(path: str | os.PathLike, model, optimizer=None) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint` into ``model`` (and ``optimizer``).

    Everything is checked first: the file (a checkpoint, complete), the architecture (class
    name, and the names and shapes of every state entry) and the optimizer state (class,
    group sizes, buffer shapes). Nothing is assigned unless all checks pass. A model whose
    repr differs from the saved one while its class, names and shapes match loads with a
    ``UserWarning``. A convforge 0.1 ``.npz`` checkpoint loads with a ``DeprecationWarning``.

    Parameters
    ----------
    path : str or PathLike
        The checkpoint.
    model : cf.nn.Module
        Receives the saved state (``load_state_dict(..., strict=True)``).
    optimizer : cf.optim.Optimizer, optional
        Receives the saved optimizer state; the file must hold one.

    Returns
    -------
    dict
        The user's metadata (see :func:`checkpoint_info` for the epoch and the rest).

    Raises
    ------
    ValueError
        Naming the path and the problem.
    """
    owner = "load_checkpoint"
    path = Path(path)
    backup = _model_state(owner, model)
    structure = _read(path)
    _check_architecture(path, structure, backup, model)
    new_model_state = {name: structure["model"][name] for name in backup}
    optimizer_state = previous_optimizer_state = None
    if optimizer is not None:
        optimizer_state = _optimizer_state_dict(path, structure, optimizer)
        previous_optimizer_state = optimizer.state_dict()
    try:
        if optimizer is not None:  # validates everything before it assigns anything
            optimizer.load_state_dict(optimizer_state)
        model.load_state_dict(new_model_state, strict=True)
    except (ValueError, TypeError, KeyError, RuntimeError) as e:
        model.load_state_dict(backup, strict=True)
        if optimizer is not None:
            optimizer.load_state_dict(previous_optimizer_state)
        raise ValueError(f"{path} could not be loaded: {e}") from e
    return structure["metadata"]
