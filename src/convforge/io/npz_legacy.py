"""Reading the ``.npz`` checkpoints of convforge 0.1 (format ``convforge.checkpoint`` version 1).

Those files (what ``convforge train`` wrote before checkpoints moved to safetensors) are NumPy
``.npz`` archives, read without pickle: ``model/<name>`` per state entry,
``optimizer/<index>/<buffer>`` per optimizer array, and ``__header__``, UTF-8 JSON with the
architecture, the entries' names, shapes and dtypes, the optimizer's class, param groups and
scalar state, the epoch and the metadata. :func:`read_npz_checkpoint` turns one into the
structure a safetensors checkpoint loads as (see :mod:`convforge.io.checkpoint`).
"""

from __future__ import annotations

import json
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "convforge.checkpoint"
HEADER_KEY = "__header__"
MODEL_PREFIX = "model/"


def is_npz_checkpoint(path: Path) -> bool:
    """True for a zip archive holding ``__header__.npy`` (a version-1 checkpoint)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return f"{HEADER_KEY}.npy" in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def _arrays(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError) as e:
        raise ValueError(f"{path} is truncated or corrupt: {e}") from e


def _header(path: Path, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    try:
        header = json.loads(arrays.pop(HEADER_KEY).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path} is corrupt: its header is not valid JSON ({e})") from e
    if not isinstance(header, dict) or header.get("format") != FORMAT or header.get("format_version") != 1:
        raise ValueError(f"{path} is not a convforge version-1 checkpoint")
    if not isinstance(header.get("parameters"), list) or not isinstance(header.get("architecture"), dict):
        raise ValueError(f"{path} is corrupt: its header lacks the architecture or the parameter list")
    return header


def _model(path: Path, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    model = {}
    try:
        for entry in header["parameters"]:
            array = arrays[MODEL_PREFIX + entry["name"]]
            if array.shape != tuple(entry["shape"]) or array.dtype != np.dtype(entry["dtype"]):
                raise ValueError(f"{path} is corrupt: {entry['name']} disagrees with the header")
            model[entry["name"]] = array
    except (KeyError, TypeError) as e:
        raise ValueError(f"{path} is corrupt: header and arrays disagree ({e!r})") from e
    return model


def _optimizer(path: Path, section, arrays: dict[str, np.ndarray]):
    if section is None:
        return None, None
    try:
        state = {
            int(index): {
                name: arrays[value["array"]] if isinstance(value, dict) else value
                for name, value in buffers.items()
            }
            for index, buffers in section["state"].items()
        }
        return section["class"], {"state": state, "param_groups": section["param_groups"]}
    except (KeyError, TypeError, AttributeError, ValueError) as e:
        raise ValueError(f"{path} is corrupt: its optimizer section is garbled ({e!r})") from e


def read_npz_checkpoint(path: Path) -> dict[str, Any]:
    """A version-1 checkpoint as the version-2 structure, with a ``DeprecationWarning``."""
    warnings.warn(
        f"{path} is a convforge 0.1 .npz checkpoint; it loads, but checkpoints are safetensors files now: "
        "save it again with cf.io.save_checkpoint to convert it",
        DeprecationWarning,
        stacklevel=4,
    )
    arrays = _arrays(path)
    if HEADER_KEY not in arrays:
        raise ValueError(f"{path} is not a convforge checkpoint: an .npz without a header")
    header = _header(path, arrays)
    optimizer_class, optimizer = _optimizer(path, header.get("optimizer"), arrays)
    return {
        "format": FORMAT,
        "format_version": 1,
        "convforge_version": header.get("convforge_version"),
        "architecture": header["architecture"],
        "model": _model(path, header, arrays),
        "optimizer_class": optimizer_class,
        "optimizer": optimizer,
        "epoch": header.get("epoch"),
        "metadata": header.get("metadata") or {},
    }
