"""Checkpoints: a model's state, an optimizer's state and metadata in one ``.npz`` file.

The file is an ordinary NumPy ``.npz`` (a zip of ``.npy`` arrays, read without pickle):

* ``model/<name>``: each entry of ``model.state_dict()`` (torch's key names);
* ``optimizer/<index>/<buffer>``: each array of ``optimizer.state_dict()["state"]``;
* ``__header__``: UTF-8 JSON (as a uint8 array) with the format and its version, the
  convforge version, the architecture (the model's class name and repr), the name, shape
  and dtype of every model entry, the optimizer's class, param groups and scalar state,
  the epoch and the user's metadata.

Loading checks the whole file against the header and the header against the model and the
optimizer before assigning anything, so a checkpoint of another architecture, a truncated
or corrupt file, or a file that is no checkpoint raises a ``ValueError`` naming the path and
the problem, and leaves the model and the optimizer as they were.
"""

from __future__ import annotations

import json
import os
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "convforge.checkpoint"
FORMAT_VERSION = 1
HEADER_KEY = "__header__"
MODEL_PREFIX = "model/"
OPTIMIZER_PREFIX = "optimizer/"
_ZIP_MAGIC = b"PK\x03\x04"


# --------------------------------------------------------------------------------------
# save
# --------------------------------------------------------------------------------------
def _json_value(value):
    """JSON's ``default``: NumPy scalars and small arrays become Python values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.size <= 64:
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _to_json(owner: str, name: str, value) -> str:
    try:
        return json.dumps(value, default=_json_value)
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"{owner}: {name} must hold only JSON values (str, numbers, bools, None, lists, dicts): {e}"
        ) from e


def _model_state(owner: str, model) -> dict[str, np.ndarray]:
    if not hasattr(model, "state_dict") or not hasattr(model, "load_state_dict"):
        raise TypeError(f"{owner}: model must be a cf.nn.Module, but got {type(model).__name__}")
    return {name: np.asarray(value) for name, value in model.state_dict().items()}


def _pack_optimizer(optimizer) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(JSON section, arrays) of ``optimizer.state_dict()``: arrays become references."""
    state_dict = optimizer.state_dict()
    arrays: dict[str, np.ndarray] = {}
    state: dict[str, dict[str, Any]] = {}
    for index, buffers in state_dict["state"].items():
        entry: dict[str, Any] = {}
        for name, value in buffers.items():
            if isinstance(value, np.ndarray):
                key = f"{OPTIMIZER_PREFIX}{index}/{name}"
                arrays[key] = value
                entry[name] = {"array": key}
            else:
                entry[name] = value
        state[str(index)] = entry
    section = {"class": type(optimizer).__name__, "param_groups": state_dict["param_groups"], "state": state}
    return section, arrays


def save_checkpoint(
    path: str | os.PathLike,
    model,
    optimizer=None,
    *,
    epoch: int | None = None,
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Save ``model`` (and ``optimizer``) to one ``.npz`` file at exactly ``path``.

    The file is written next to ``path`` and then renamed over it, so an interrupted save
    never leaves a truncated checkpoint behind.

    Parameters
    ----------
    path : str or PathLike
        Destination (no suffix is added).
    model : cf.nn.Module
        Its ``state_dict()`` (parameters and buffers) is saved, with its class name and repr.
    optimizer : cf.optim.Optimizer, optional
        Its ``state_dict()`` is saved too.
    epoch : int, optional
        Stored in the header.
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
    model_state = _model_state(owner, model)
    arrays = {MODEL_PREFIX + name: value for name, value in model_state.items()}
    optimizer_section = None
    if optimizer is not None:
        if not hasattr(optimizer, "state_dict"):
            raise TypeError(
                f"{owner}: optimizer must be a cf.optim.Optimizer, but got {type(optimizer).__name__}"
            )
        optimizer_section, optimizer_arrays = _pack_optimizer(optimizer)
        arrays.update(optimizer_arrays)
    from .. import __version__

    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "convforge_version": __version__,
        "architecture": {"class": type(model).__name__, "repr": repr(model)},
        "parameters": [
            {"name": name, "shape": list(value.shape), "dtype": value.dtype.str}
            for name, value in model_state.items()
        ],
        "optimizer": optimizer_section,
        "epoch": None if epoch is None else int(epoch),
        "metadata": metadata if metadata is not None else {},
    }
    _to_json(owner, "metadata", header["metadata"])  # name the user's part if it is the culprit
    header_bytes = _to_json(owner, "the optimizer state", header).encode("utf-8")
    arrays[HEADER_KEY] = np.frombuffer(header_bytes, dtype=np.uint8)

    path = Path(path)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with open(partial, "wb") as file:
            np.savez(file, **arrays)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


# --------------------------------------------------------------------------------------
# read and validate
# --------------------------------------------------------------------------------------
def _not_a_checkpoint(path: Path) -> ValueError:
    with open(path, "rb") as file:
        start = file.read(4)
    if start == _ZIP_MAGIC:
        return ValueError(f"{path} is truncated or corrupt: a zip file without its central directory")
    return ValueError(f"{path} is not a convforge checkpoint (not an .npz/zip file)")


def _read(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The validated header and all arrays of a checkpoint file (ValueError naming the path)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    if not zipfile.is_zipfile(path):
        raise _not_a_checkpoint(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError) as e:
        raise ValueError(f"{path} is truncated or corrupt: {e}") from e
    if HEADER_KEY not in arrays:
        raise ValueError(
            f"{path} is not a convforge checkpoint: an .npz of {len(arrays)} arrays without a header"
        )
    try:
        header = json.loads(arrays.pop(HEADER_KEY).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path} is corrupt: its header is not valid JSON ({e})") from e
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(
            f"{path} is not a convforge checkpoint: its header has format {_get(header, 'format')!r}"
        )
    version = header.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"{path} has checkpoint format version {version!r}, but this convforge reads versions up to "
            f"{FORMAT_VERSION}; it was written by convforge {header.get('convforge_version')}"
        )
    _check_arrays_match_header(path, header, arrays)
    return header, arrays


def _get(header, key):
    return header.get(key) if isinstance(header, dict) else None


_HEADER_TYPES = {"architecture": dict, "parameters": list, "metadata": dict}


def _check_arrays_match_header(path: Path, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    for key, kind in _HEADER_TYPES.items():
        if not isinstance(header.get(key), kind):
            raise ValueError(f"{path} is corrupt: its header's {key!r} is missing or not a {kind.__name__}")
    optimizer = header.get("optimizer")
    if optimizer is not None and not (
        isinstance(optimizer, dict)
        and isinstance(optimizer.get("state"), dict)
        and isinstance(optimizer.get("param_groups"), list)
        and "class" in optimizer
    ):
        raise ValueError(f"{path} is corrupt: its header's optimizer section is garbled")
    expected = {}
    try:
        for entry in header["parameters"]:
            expected[MODEL_PREFIX + entry["name"]] = (tuple(entry["shape"]), np.dtype(entry["dtype"]))
        references = [
            value["array"]
            for buffers in (optimizer["state"].values() if optimizer else ())
            for value in buffers.values()
            if isinstance(value, dict)
        ]
    except (KeyError, TypeError, AttributeError) as e:
        raise ValueError(f"{path} is corrupt: its header lacks or garbles an entry ({e!r})") from e
    stored = {key for key in arrays if key.startswith(MODEL_PREFIX)}
    if stored != set(expected):
        missing, extra = sorted(set(expected) - stored), sorted(stored - set(expected))
        raise ValueError(
            f"{path} is corrupt: header and arrays disagree (missing {missing}, unlisted {extra})"
        )
    for key, (shape, dtype) in expected.items():
        if arrays[key].shape != shape or arrays[key].dtype != dtype:
            raise ValueError(
                f"{path} is corrupt: {key} is {arrays[key].dtype} {arrays[key].shape}, the header says {dtype} {shape}"
            )
    missing = [key for key in references if key not in arrays]
    if missing:
        raise ValueError(f"{path} is corrupt: optimizer arrays {missing} are missing")


def checkpoint_info(path: str | os.PathLike) -> dict[str, Any]:
    """The whole header of a checkpoint, after checking the file.

    Returns
    -------
    dict
        ``format``, ``format_version``, ``convforge_version``, ``architecture`` (``class``,
        ``repr``), ``parameters`` (``name``, ``shape``, ``dtype`` of each model entry),
        ``optimizer`` (``class``, ``param_groups``, scalar ``state``; None if not saved),
        ``epoch`` and ``metadata``.
    """
    header, _ = _read(path)
    return header


def checkpoint_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The user's metadata of a checkpoint (the ``metadata`` given to :func:`save_checkpoint`)."""
    return checkpoint_info(path)["metadata"]


# --------------------------------------------------------------------------------------
# load
# --------------------------------------------------------------------------------------
def _check_architecture(
    path: Path, header: dict[str, Any], model_state: dict[str, np.ndarray], model
) -> None:
    saved_class = header["architecture"].get("class")
    if saved_class != type(model).__name__:
        raise ValueError(
            f"{path} holds a {saved_class}, not a {type(model).__name__}: a checkpoint of another architecture"
        )
    saved = {entry["name"]: tuple(entry["shape"]) for entry in header["parameters"]}
    missing = [name for name in model_state if name not in saved]
    unexpected = [name for name in saved if name not in model_state]
    mismatched = [
        f"{name}: checkpoint {saved[name]}, model {model_state[name].shape}"
        for name in model_state
        if name in saved and saved[name] != model_state[name].shape
    ]
    if missing or unexpected or mismatched:
        problems = []
        if missing:
            problems.append(f"missing {missing}")
        if unexpected:
            problems.append(f"unexpected {unexpected}")
        if mismatched:
            problems.append("shape mismatch " + "; ".join(mismatched))
        raise ValueError(
            f"{path} holds a {saved_class} of another architecture than this one: " + ", ".join(problems)
        )
    if header["architecture"].get("repr") != repr(model):
        warnings.warn(
            f"{path}: the model's repr differs from the saved one although all names and shapes match "
            f"(saved:\n{header['architecture'].get('repr')}\nnow:\n{model!r})",
            UserWarning,
            stacklevel=3,
        )


def _optimizer_state_dict(path: Path, header: dict[str, Any], arrays: dict[str, np.ndarray], optimizer):
    section = header["optimizer"]
    if section is None:
        raise ValueError(f"{path} holds no optimizer state, but an optimizer was given to load it into")
    if section["class"] != type(optimizer).__name__:
        raise ValueError(
            f"{path} holds the state of a {section['class']}, not of a {type(optimizer).__name__}"
        )
    state = {
        int(index): {
            name: arrays[value["array"]] if isinstance(value, dict) else value
            for name, value in buffers.items()
        }
        for index, buffers in section["state"].items()
    }
    return {"state": state, "param_groups": section["param_groups"]}


def load_checkpoint(path: str | os.PathLike, model, optimizer=None) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint` into ``model`` (and ``optimizer``).

    Everything is checked first: the file (a checkpoint, complete, consistent with its
    header), the architecture (class name, and the names and shapes of every state entry)
    and the optimizer state (class, group sizes, buffer shapes). Nothing is assigned unless
    all checks pass. A model whose repr differs from the saved one while its class, names and
    shapes match loads with a ``UserWarning``.

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
    model_state = {
        name: value.copy() for name, value in _model_state(owner, model).items()
    }  # also the backup
    header, arrays = _read(path)
    _check_architecture(path, header, model_state, model)
    new_model_state = {name: arrays[MODEL_PREFIX + name] for name in model_state}
    optimizer_state = None
    if optimizer is not None:
        optimizer_state = _optimizer_state_dict(path, header, arrays, optimizer)
        previous_optimizer_state = optimizer.state_dict()
    try:
        if optimizer is not None:  # validates everything before it assigns anything
            optimizer.load_state_dict(optimizer_state)
        model.load_state_dict(new_model_state, strict=True)
    except (ValueError, TypeError, KeyError, RuntimeError) as e:
        model.load_state_dict(model_state, strict=True)
        if optimizer is not None:
            optimizer.load_state_dict(previous_optimizer_state)
        raise ValueError(f"{path} could not be loaded: {e}") from e
    return header["metadata"]
