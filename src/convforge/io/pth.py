"""PyTorch ``.pth`` / ``.pt`` files (``torch.save``) read without torch and without running pickled code.

``torch.save`` pickles its object and stores the tensors' storages apart: in the zip format
(the default since torch 1.6) as ``<archive>/data.pkl`` plus one raw little-endian file
``<archive>/data/<key>`` per storage; in the legacy format as a magic-number pickle, a
protocol pickle, a system-info pickle, the object pickle, a pickle of the storage keys and
then, per key, an int64 element count followed by the raw bytes.

The object pickle is read by an unpickler whose ``find_class`` knows an allow-list only:

* ``torch._utils._rebuild_tensor``, ``_rebuild_tensor_v2``, ``_rebuild_parameter`` and
  ``_rebuild_parameter_with_state`` (replaced by NumPy functions of our own);
* ``torch.<Type>Storage`` for the dtypes below, ``torch.<dtype>`` names (``torch.float32``,
  loaded as NumPy dtypes), ``torch.Size`` (a tuple), ``torch.device`` (its string),
  ``_codecs.encode`` of latin-1 text (how protocol 2 stores bytes) and ``collections.OrderedDict``;
* the builtins ``set``, ``frozenset``, ``slice``, ``complex``.

Any other global (``os.system``, ``builtins.eval``, a model class, a ``torch.nn`` module)
raises ``ValueError`` naming it at the moment the pickle asks for it, so nothing it would
build or call runs. Tensors come back as cf Tensors (copies of their strided views, so shared
storages and non-contiguous tensors read correctly); bfloat16 is widened to float32 with a
warning.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import warnings
import zipfile
from pathlib import Path

import numpy as np

from ..autograd import Tensor

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_BFLOAT16 = "BFloat16"
# torch storage type -> NumPy dtype of its elements (little-endian, as torch writes them)
STORAGE_DTYPES = {
    "DoubleStorage": "<f8",
    "FloatStorage": "<f4",
    "HalfStorage": "<f2",
    "BFloat16Storage": "<u2",  # widened to float32 after reading
    "LongStorage": "<i8",
    "IntStorage": "<i4",
    "ShortStorage": "<i2",
    "CharStorage": "i1",
    "ByteStorage": "u1",
    "BoolStorage": "?",
    "ComplexFloatStorage": "<c8",
    "ComplexDoubleStorage": "<c16",
}
# torch dtypes pickled as values (``{'dtype': torch.float16}``)
_TORCH_DTYPES = (
    "float64",
    "float32",
    "float16",
    "bfloat16",
    "int64",
    "int32",
    "int16",
    "int8",
    "uint8",
    "bool",
)
ALLOWED_BUILTINS = {"set": set, "frozenset": frozenset, "slice": slice, "complex": complex}


class StorageType:
    """Stands for ``torch.FloatStorage`` etc. in the pickle: just the element dtype."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.dtype = np.dtype(STORAGE_DTYPES[name])


class Storage:
    """One storage's elements, read lazily from the file by ``load``."""

    def __init__(self, kind: StorageType, array: np.ndarray) -> None:
        self.kind, self.array = kind, array


class _Reader:
    """The state of reading one file: its name (for errors) and whether bfloat16 was seen."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.widened = False
        self.pending: list[tuple] = []

    def rebuild_tensor(self, storage, offset, size, stride, *_ignored) -> Tensor:
        """A Tensor whose values are filled in by :meth:`resolve` once the storages are read."""
        if not isinstance(storage, Storage):
            raise ValueError(f"{self.path} is corrupt: a tensor is rebuilt from {type(storage).__name__}")
        size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
        if len(size) != len(stride) or offset < 0 or any(s < 0 for s in (*size, *stride)):
            raise ValueError(
                f"{self.path} is corrupt: tensor of size {size}, stride {stride}, offset {offset}"
            )
        last = offset + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else offset - 1
        if last >= storage.array.size:
            raise ValueError(
                f"{self.path} is truncated or corrupt: a tensor of size {size} reaches element {last}, "
                f"its storage holds {storage.array.size}"
            )
        tensor = Tensor(np.empty(0, dtype=np.float32))
        self.pending.append((tensor, storage, int(offset), size, stride))
        return tensor

    def resolve(self) -> None:
        """Give every rebuilt tensor its values: a copy of its strided view of the storage."""
        for tensor, storage, offset, size, stride in self.pending:
            base = storage.array
            view = np.lib.stride_tricks.as_strided(
                base[offset:], shape=size, strides=tuple(s * base.itemsize for s in stride), writeable=False
            )
            array = np.array(view)  # tensors sharing a storage each get their own values
            if storage.kind.name == "BFloat16Storage":
                array = (array.astype(np.uint32) << 16).view(np.float32)
                self.widened = True
            tensor.array = array
        self.pending.clear()

    def rebuild_parameter(self, data, requires_grad=False, *_ignored) -> Tensor:
        return data

    def find_class(self, module: str, name: str):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor", "_rebuild_tensor_v2"):
            return self.rebuild_tensor
        if module == "torch._utils" and name in ("_rebuild_parameter", "_rebuild_parameter_with_state"):
            return self.rebuild_parameter
        if module == "torch" and name in STORAGE_DTYPES:
            return StorageType(name)
        if module == "torch" and name in _TORCH_DTYPES:  # a dtype stored as a value
            return "bfloat16" if name == "bfloat16" else np.dtype(name)
        if module == "torch" and name in ("Size", "device"):
            return _size if name == "Size" else _device
        if module == "_codecs" and name == "encode":  # how protocol 2 pickles bytes
            return _latin1_bytes
        if module in ("builtins", "__builtin__") and name in ALLOWED_BUILTINS:
            return ALLOWED_BUILTINS[name]
        raise ValueError(
            f"{self.path}: refusing to unpickle the global {module}.{name}: only tensors, storages, "
            "OrderedDict and plain containers and scalars are loaded (a pickle naming anything else "
            "could run code); see convforge.io.pth"
        )


def _size(dims=()) -> tuple[int, ...]:
    """``torch.Size`` as a tuple of ints."""
    return tuple(int(d) for d in dims)


def _device(kind, index=None) -> str:
    """``torch.device`` as its string, ``'cpu'`` or ``'cuda:0'``."""
    return str(kind) if index is None else f"{kind}:{int(index)}"


def _latin1_bytes(text, encoding="latin1") -> bytes:
    if not isinstance(text, str) or encoding != "latin1":
        raise ValueError(f"refusing _codecs.encode of {type(text).__name__} with {encoding!r}")
    return text.encode("latin1")


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves globals through the reader's allow-list only."""

    def __init__(self, file, reader: _Reader, persistent_load) -> None:
        super().__init__(file)
        self.reader, self.storage_for = reader, persistent_load

    def find_class(self, module: str, name: str):
        return self.reader.find_class(module, name)

    def persistent_load(self, saved_id):
        if self.storage_for is None:
            raise ValueError(f"{self.reader.path} is corrupt: a persistent object outside the object pickle")
        return self.storage_for(saved_id)


def _unpickler(data, reader: _Reader, persistent_load) -> pickle.Unpickler:
    return _RestrictedUnpickler(data, reader, persistent_load)


def _storage_kind(reader: _Reader, kind) -> StorageType:
    if not isinstance(kind, StorageType):
        raise ValueError(f"{reader.path} is corrupt: a storage of type {kind!r}")
    return kind


# --------------------------------------------------------------------------------------
# the zip format
# --------------------------------------------------------------------------------------
def _load_zip(path: Path, reader: _Reader):
    try:
        archive = zipfile.ZipFile(path)
        names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as e:
        raise ValueError(f"{path} is truncated or corrupt: {e}") from e
    pickles = [name for name in names if name.endswith("/data.pkl") or name == "data.pkl"]
    if len(pickles) != 1:
        raise ValueError(f"{path} is a zip file but not a torch.save archive (no single data.pkl)")
    prefix = pickles[0][: -len("data.pkl")]
    byteorder = prefix + "byteorder"
    if byteorder in names and archive.read(byteorder).strip() not in (b"little", b""):
        raise ValueError(f"{path} was written on a big-endian machine; only little-endian files are read")
    storages: dict[str, Storage] = {}

    def persistent_load(saved_id):
        if not (isinstance(saved_id, tuple) and len(saved_id) >= 5 and saved_id[0] == "storage"):
            raise ValueError(f"{path}: refusing a persistent object {saved_id!r} that is not a storage")
        kind, key = _storage_kind(reader, saved_id[1]), str(saved_id[2])
        if key not in storages:
            try:
                raw = archive.read(f"{prefix}data/{key}")
            except (KeyError, zipfile.BadZipFile, OSError) as e:
                raise ValueError(f"{path} is truncated or corrupt: storage {key} cannot be read ({e})") from e
            usable = len(raw) - len(raw) % kind.dtype.itemsize
            storages[key] = Storage(kind, np.frombuffer(raw[:usable], dtype=kind.dtype))
        return storages[key]

    with archive:
        try:
            data = archive.read(pickles[0])
        except (zipfile.BadZipFile, OSError) as e:
            raise ValueError(f"{path} is truncated or corrupt: {e}") from e
        return _unpickle(path, _unpickler(io.BytesIO(data), reader, persistent_load))


def _unpickle(path: Path, unpickler: pickle.Unpickler):
    try:
        return unpickler.load()
    except ValueError:
        raise
    except (pickle.UnpicklingError, EOFError, AttributeError, TypeError, IndexError, KeyError) as e:
        raise ValueError(f"{path} is truncated or corrupt: its pickle cannot be read ({e})") from e


# --------------------------------------------------------------------------------------
# the legacy format
# --------------------------------------------------------------------------------------
def _load_legacy(path: Path, reader: _Reader):
    with open(path, "rb") as file:
        header = _unpickle(path, _unpickler(file, reader, None))
        if header != LEGACY_MAGIC:
            raise ValueError(f"{path} is not a torch.save file (neither a zip archive nor the legacy format)")
        _unpickle(path, _unpickler(file, reader, None))  # protocol version
        _unpickle(path, _unpickler(file, reader, None))  # system info
        storages: dict[str, Storage] = {}

        def persistent_load(saved_id):
            if not (isinstance(saved_id, tuple) and len(saved_id) >= 5 and saved_id[0] == "storage"):
                raise ValueError(f"{path}: refusing a persistent object {saved_id!r} that is not a storage")
            kind, key, numel = _storage_kind(reader, saved_id[1]), str(saved_id[2]), int(saved_id[4])
            if key not in storages:
                storages[key] = Storage(kind, np.zeros(numel, dtype=kind.dtype))
            return storages[key]

        result = _unpickle(path, _unpickler(file, reader, persistent_load))
        keys = _unpickle(path, _unpickler(file, reader, None))
        _fill_legacy_storages(path, file, keys, storages)
    return result


def _fill_legacy_storages(path: Path, file, keys, storages: dict[str, Storage]) -> None:
    """Read each storage: an int64 count of elements, then its bytes (torch's ``_set_from_file``)."""
    for key in keys:
        storage = storages.get(str(key))
        if storage is None:
            raise ValueError(f"{path} is corrupt: it stores data for an unknown storage {key!r}")
        count_bytes = file.read(8)
        if len(count_bytes) != 8:
            raise ValueError(f"{path} is truncated: storage {key} is missing")
        (count,) = struct.unpack("<q", count_bytes)
        raw = file.read(count * storage.array.itemsize)
        if count != storage.array.size or len(raw) != count * storage.array.itemsize:
            raise ValueError(f"{path} is truncated or corrupt: storage {key} holds {len(raw)} bytes")
        storage.array[...] = np.frombuffer(raw, dtype=storage.array.dtype)


# --------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------
def load_pth(path: str | os.PathLike):
    """Read a file written by ``torch.save`` without torch (see the module docstring).

    Returns
    -------
    The saved object: dicts (OrderedDict stays OrderedDict), lists, tuples and scalars as
    they were, every tensor (and Parameter) as a cf Tensor.

    Raises
    ------
    ValueError
        For a global outside the allow-list (naming it), a truncated or corrupt file, or a
        file that is no ``torch.save`` output.
    """
    path = Path(path)
    reader = _Reader(str(path))
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    # the legacy format stores the storages after the object pickle, so tensors get their
    # values only once everything is read (``resolve``), in both formats alike
    result = _load_zip(path, reader) if zipfile.is_zipfile(path) else _load_legacy(path, reader)
    reader.resolve()
    if reader.widened:
        warnings.warn(
            f"{path}: bfloat16 tensors were widened to float32 (NumPy has no bfloat16)", stacklevel=3
        )
    return result
