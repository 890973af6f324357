"""``cf.save`` / ``cf.load``: torch.save and torch.load's roles, on safetensors, never pickle.

``save`` writes a state dict, or any nesting of dicts, lists and tuples holding tensors,
arrays and JSON values, to one safetensors file (:mod:`convforge.io.safetensors_io`).
``load`` reads back what ``save`` wrote, and also what other programs wrote:

==========================================  ==============================================
file                                        ``load`` returns
==========================================  ==============================================
``cf.save`` (safetensors + structure)       the saved structure: cf Tensors where Tensors
                                            were saved, ndarrays where ndarrays were
safetensors without convforge's structure   a flat dict of cf Tensors (bfloat16 -> float32)
(``safetensors.torch.save_file``, ...)
``torch.save`` ``.pth`` / ``.pt``           the pickled structure, tensors as cf Tensors,
(zip or legacy format)                      read by an allow-list unpickler
                                            (:mod:`convforge.io.pth`), without torch
convforge 0.1 ``.npz`` checkpoint           the checkpoint structure, with a
                                            ``DeprecationWarning``
==========================================  ==============================================
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from . import safetensors_io
from .npz_legacy import is_npz_checkpoint, read_npz_checkpoint
from .pth import LEGACY_MAGIC, load_pth

_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_PROTOCOL_2 = b"\x80\x02"


def save(obj, f) -> None:
    """Save ``obj`` to the file ``f`` in the safetensors format (atomically for a path).

    Parameters
    ----------
    obj : Tensor, ndarray, or dict/list/tuple nesting of them and of JSON values
        E.g. ``model.state_dict()`` or ``{'model': model.state_dict(), 'epoch': 3}``.
        A flat dict of tensors keeps its keys as the file's tensor names, so torch reads it
        with ``safetensors.torch.load_file``.
    f : str, PathLike or a binary file object
        Where to write.

    Raises
    ------
    TypeError
        Naming the first value that is neither a tensor, an array nor a JSON value (a model
        itself, a function ...): save ``model.state_dict()`` instead.
    """
    if isinstance(f, (str, os.PathLike)):
        safetensors_io.save_structure(obj, f)
        return
    if not hasattr(f, "write"):
        raise TypeError(f"save: f must be a path or a binary file object, but got {type(f).__name__}")
    from safetensors.numpy import save as save_bytes

    tree, arrays = safetensors_io.flatten("save", obj)
    f.write(save_bytes(arrays, metadata=safetensors_io.file_metadata(tree, arrays)))


def _load_path(path: Path):
    if not path.is_file():
        raise FileNotFoundError(f"load: {path} does not exist")
    with open(path, "rb") as file:
        head = file.read(16)
    if safetensors_io.looks_like_safetensors(head):
        return safetensors_io.load_structure(path)
    if head.startswith(_ZIP_MAGIC):
        return read_npz_checkpoint(path) if is_npz_checkpoint(path) else load_pth(path)
    if head.startswith(_PICKLE_PROTOCOL_2) and LEGACY_MAGIC.to_bytes(10, "little") in head:
        return load_pth(path)
    raise ValueError(
        f"load: {path} is neither a safetensors file, a torch.save file (zip or legacy) nor a "
        "convforge .npz checkpoint"
    )


def load(f, map_location=None, weights_only: bool | None = None, **pickle_load_args):
    """Load what :func:`save`, ``safetensors`` or ``torch.save`` wrote (see the module docstring).

    Parameters
    ----------
    f : str, PathLike or a binary file object
    map_location, weights_only
        Accepted for torch.load's signature: tensors are always loaded to the CPU, and only
        weights are ever loaded (an allow-list unpickler for ``.pth`` files).

    Returns
    -------
    The saved structure, tensors as cf Tensors (ndarrays where ``save`` was given ndarrays).

    Raises
    ------
    ValueError
        For a truncated or corrupt file, an unknown format, or a pickle that names a global
        outside the allow-list (the error names it; nothing of the pickle runs).
    """
    del map_location, weights_only, pickle_load_args  # CPU only, weights only
    if isinstance(f, (str, os.PathLike)):
        return _load_path(Path(f))
    if not hasattr(f, "read"):
        raise TypeError(f"load: f must be a path or a binary file object, but got {type(f).__name__}")
    data = f.read()
    with tempfile.TemporaryDirectory() as folder:  # the readers work on files (zip, mmap)
        path = Path(folder) / "buffer"
        path.write_bytes(data)
        return _load_path(path)


__all__ = ["load", "save"]
