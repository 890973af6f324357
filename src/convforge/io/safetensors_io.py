"""Nested structures of tensors in one safetensors file (written with the ``safetensors`` library).

A safetensors file holds a flat map of named arrays and a flat map of string metadata. A
nested structure (a state dict, an optimizer's state dict, ``{'model': ..., 'epoch': 3}``)
is stored as:

* every tensor or array of the structure as one safetensors entry; a flat dict of tensors
  keeps its keys as they are (so a state dict reads back in torch with
  ``safetensors.torch.load_file``), a nested one joins the path with dots
  (``optimizer.state.0.exp_avg``);
* the structure itself as JSON in the metadata entry ``convforge.structure``: dicts, lists
  and JSON values as they are, and the tagged forms ``{"__tensor__": key}`` (a cf Tensor),
  ``{"__array__": key}`` (an ndarray), ``{"__tuple__": [...]}`` and ``{"__dict__": [[key,
  value], ...]}`` (a dict whose keys are not all strings, or that could be mistaken for a tag).

A file without that metadata entry (one torch or another library wrote) reads as a flat dict
of cf Tensors. Nothing is ever pickled.
"""

from __future__ import annotations

import json
import math
import os
import struct
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ..autograd import Tensor

STRUCTURE_KEY = "convforge.structure"
CHECKSUM_KEY = "convforge.crc32"  # safetensors has no checksum of its own: one CRC-32 per tensor
MAGIC_CHECK_BYTES = 8
_TAGS = ("__tensor__", "__array__", "__tuple__", "__dict__")
# the library's numpy side has no bfloat16; such entries are widened to float32 by hand
_HALF_WIDTH_FLOATS = {"BF16": np.dtype("<u2")}


# --------------------------------------------------------------------------------------
# structure <-> (JSON tree, flat arrays)
# --------------------------------------------------------------------------------------
def _json_scalar(owner: str, path: str, value):
    if isinstance(value, (np.bool_, np.integer, np.floating)):
        return value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value
    raise TypeError(
        f"{owner}: {path or 'obj'} is a {type(value).__name__}; only tensors, arrays, dicts, lists, "
        "tuples, str, numbers, bools and None can be saved (save a model's state_dict(), not the model)"
    )


def _plain_keys(mapping: dict) -> bool:
    return all(isinstance(key, str) and key not in _TAGS for key in mapping)


class _Flattener:
    """Walks a structure once: arrays go to ``arrays`` under their key, the rest to JSON."""

    def __init__(self, owner: str, key_for) -> None:
        self.owner, self.key_for = owner, key_for
        self.arrays: dict[str, np.ndarray] = {}

    def _leaf(self, path: tuple, value) -> dict:
        tag = "__tensor__" if isinstance(value, Tensor) else "__array__"
        array = np.asarray(value.array if isinstance(value, Tensor) else value, order="C")  # keeps 0-d
        if array.dtype == object or array.dtype.kind not in "biufc":
            raise TypeError(f"{self.owner}: {'.'.join(map(str, path))} has dtype {array.dtype}, not a number")
        key = self.key_for(path)
        if key in self.arrays:  # two paths joined to the same dotted key: number the later one
            key = f"{key}#{len(self.arrays)}"
        self.arrays[key] = array
        return {tag: key}

    def encode(self, value, path: tuple = ()):
        if isinstance(value, (Tensor, np.ndarray)):
            return self._leaf(path, value)
        if isinstance(value, dict):
            if _plain_keys(value):
                return {key: self.encode(item, (*path, key)) for key, item in value.items()}
            pairs = []
            for key, item in value.items():
                pairs.append(
                    [_json_scalar(self.owner, ".".join(map(str, path)), key), self.encode(item, (*path, key))]
                )
            return {"__dict__": pairs}
        if isinstance(value, tuple):
            return {"__tuple__": [self.encode(item, (*path, i)) for i, item in enumerate(value)]}
        if isinstance(value, list):
            return [self.encode(item, (*path, i)) for i, item in enumerate(value)]
        return _json_scalar(self.owner, ".".join(map(str, path)), value)


def dotted_key(path: tuple) -> str:
    """``('optimizer', 'state', 0, 'exp_avg')`` -> ``'optimizer.state.0.exp_avg'``; a bare tensor is ``tensor``."""
    return ".".join(str(part) for part in path) if path else "tensor"


def flatten(owner: str, obj, key_for=dotted_key) -> tuple[Any, dict[str, np.ndarray]]:
    """(JSON tree, arrays by key) of a structure; ``key_for(path)`` names each array."""
    flattener = _Flattener(owner, key_for)
    tree = flattener.encode(obj)
    return tree, flattener.arrays


def unflatten(tree, arrays: dict[str, np.ndarray], where: str):
    """The structure back from :func:`flatten`'s tree; a missing array is a corrupt file."""

    def decode(node):
        if isinstance(node, list):
            return [decode(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((tag, inner),) = node.items()
            if tag in ("__tensor__", "__array__"):
                if inner not in arrays:
                    raise ValueError(
                        f"{where} is corrupt: its structure names a tensor {inner!r} it does not hold"
                    )
                return Tensor(arrays[inner]) if tag == "__tensor__" else arrays[inner]
            if tag == "__tuple__":
                return tuple(decode(item) for item in inner)
            if tag == "__dict__":
                return {_hashable(key): decode(item) for key, item in inner}
        return {key: decode(item) for key, item in node.items()}

    return decode(tree)


def _hashable(key):
    return tuple(key) if isinstance(key, list) else key


# --------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------
def atomic_write(path: Path, write) -> Path:
    """Call ``write(partial_path)`` and rename the result over ``path`` (never half a file)."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        write(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def write_file(path: str | os.PathLike, tree, arrays: dict[str, np.ndarray], extra_metadata=None) -> Path:
    """Write ``arrays`` and the JSON ``tree`` to ``path`` with ``safetensors.numpy.save_file``."""
    from safetensors.numpy import save_file

    metadata = file_metadata(tree, arrays)
    metadata.update(extra_metadata or {})
    return atomic_write(Path(path), lambda partial: save_file(arrays, str(partial), metadata=metadata))


def _crc32(array: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(array).reshape(-1).view(np.uint8))


def file_metadata(tree, arrays: dict[str, np.ndarray]) -> dict[str, str]:
    """The metadata convforge writes: the structure and a CRC-32 of every tensor's bytes."""
    checksums = {key: _crc32(array) for key, array in arrays.items()}
    return {STRUCTURE_KEY: json.dumps(tree, allow_nan=True), CHECKSUM_KEY: json.dumps(checksums)}


def _verify(path: Path, arrays: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    if CHECKSUM_KEY not in metadata:
        return
    try:
        checksums = json.loads(metadata[CHECKSUM_KEY])
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is corrupt: its checksums are not JSON ({e})") from e
    for key, array in arrays.items():
        if checksums.get(key) != _crc32(array):
            raise ValueError(f"{path} is truncated or corrupt: tensor {key!r} fails its CRC-32 check")


def looks_like_safetensors(head: bytes) -> bool:
    """A safetensors file starts with the little-endian header length, then ``{``."""
    if len(head) < MAGIC_CHECK_BYTES + 1:
        return False
    (length,) = struct.unpack("<Q", head[:MAGIC_CHECK_BYTES])
    return 0 < length < 100_000_000 and head[MAGIC_CHECK_BYTES : MAGIC_CHECK_BYTES + 1] == b"{"


def _raw_header(path: Path) -> tuple[dict[str, Any], int]:
    """The JSON header and the offset where the data starts."""
    with open(path, "rb") as file:
        (length,) = struct.unpack("<Q", file.read(MAGIC_CHECK_BYTES))
        return json.loads(file.read(length)), MAGIC_CHECK_BYTES + length


def _widen_bfloat16(path: Path, keys: list[str]) -> dict[str, np.ndarray]:
    """bfloat16 entries as float32: a bfloat16 is the upper half of the float32 of the same value."""
    header, start = _raw_header(path)
    out = {}
    with open(path, "rb") as file:
        for key in keys:
            begin, end = header[key]["data_offsets"]
            file.seek(start + begin)
            halves = np.frombuffer(file.read(end - begin), dtype=_HALF_WIDTH_FLOATS["BF16"])
            if halves.size != math.prod(header[key]["shape"]):
                raise ValueError(f"{path} is truncated or corrupt: entry {key!r} is cut short")
            wide = (halves.astype(np.uint32) << 16).view(np.float32)
            out[key] = wide.reshape(header[key]["shape"])
    warnings.warn(
        f"{path}: bfloat16 tensors {keys} were widened to float32 (NumPy has no bfloat16)",
        UserWarning,
        stacklevel=4,
    )
    return out


def read_file(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """(arrays by key, metadata) of a safetensors file; ValueError naming the path if corrupt."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    try:
        with safe_open(str(path), framework="numpy") as file:
            metadata = file.metadata() or {}
            keys = list(file.keys())
            wide = [key for key in keys if file.get_slice(key).get_dtype() in _HALF_WIDTH_FLOATS]
            arrays = {key: file.get_tensor(key) for key in keys if key not in wide}
    except SafetensorError as e:
        raise ValueError(f"{path} is truncated or corrupt (safetensors: {e})") from e
    _verify(path, arrays, metadata)
    if wide:
        arrays.update(_widen_bfloat16(path, wide))
    return arrays, metadata


def load_structure(path: str | os.PathLike):
    """The structure saved by :func:`save_structure`, or a flat dict of Tensors for other files."""
    arrays, metadata = read_file(path)
    if STRUCTURE_KEY not in metadata:
        return {key: Tensor(value) for key, value in arrays.items()}
    try:
        tree = json.loads(metadata[STRUCTURE_KEY])
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is corrupt: its {STRUCTURE_KEY} metadata is not JSON ({e})") from e
    return unflatten(tree, arrays, str(path))


def save_structure(obj, path: str | os.PathLike) -> Path:
    """Write ``obj`` (see the module docstring) to ``path`` atomically."""
    tree, arrays = flatten("save", obj)
    return write_file(path, tree, arrays)
