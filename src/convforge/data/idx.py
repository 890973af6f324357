"""The IDX file format of MNIST and Fashion-MNIST: read, write, and load a split.

An IDX file is a big-endian header and a C-order payload::

    bytes 0-1   0x00 0x00                      magic
    byte  2     dtype code (see _DTYPES)
    byte  3     number of dimensions n
    4n bytes    each dimension, uint32
    payload     prod(dims) items of the dtype

Files may be gzip-compressed (detected from the content, not the name).
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

# IDX dtype code -> big-endian NumPy dtype
_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in _DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"

_MNIST_STEMS = {
    "train": ("train-images", "train-labels"),
    "test": ("t10k-images", "t10k-labels"),
}


def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as file:
        content = file.read()
    if content[:2] != _GZIP_MAGIC:
        return content
    try:
        return gzip.decompress(content)
    except (OSError, EOFError, zlib.error) as e:
        raise ValueError(f"read_idx: {path} is a corrupt or truncated gzip file ({e})") from e


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed) into an array.

    Parameters
    ----------
    path : str or PathLike
        The file, e.g. ``train-images-idx3-ubyte`` or ``train-images-idx3-ubyte.gz``.

    Returns
    -------
    ndarray
        Shape as in the header, dtype as the header's code in native byte order
        (uint8 for MNIST).

    Raises
    ------
    ValueError
        Naming the file, when the magic number, the dtype code or the number of dimensions is
        invalid, or when the payload is shorter (truncated) or longer than the header says.
    """
    path = Path(path)
    content = _read_bytes(path)
    if len(content) < 4:
        raise ValueError(
            f"read_idx: {path} is truncated: {len(content)} bytes, not even the 4-byte IDX magic number"
        )
    if content[0] != 0 or content[1] != 0:
        raise ValueError(
            f"read_idx: {path} is not an IDX file: the magic number must start with two zero bytes, "
            f"but starts with {content[:2].hex()}"
        )
    code, ndim = content[2], content[3]
    if code not in _DTYPES:
        allowed = ", ".join(f"0x{c:02X}" for c in _DTYPES)
        raise ValueError(f"read_idx: {path} has an unknown IDX dtype code 0x{code:02X} (allowed: {allowed})")
    if ndim == 0:
        raise ValueError(f"read_idx: {path} declares 0 dimensions; an IDX array needs at least one")
    header_size = 4 + 4 * ndim
    if len(content) < header_size:
        raise ValueError(
            f"read_idx: {path} is truncated: the header declares {ndim} dimensions "
            f"({header_size} bytes) but the file has {len(content)} bytes"
        )
    shape = tuple(int(d) for d in np.frombuffer(content, dtype=">u4", count=ndim, offset=4))
    dtype = _DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(content) - header_size
    if found < expected:
        raise ValueError(
            f"read_idx: {path} is truncated: the header says shape {shape} of {dtype.newbyteorder('=')} "
            f"({expected} bytes of data) but the file has {found}"
        )
    if found > expected:
        raise ValueError(
            f"read_idx: {path} is corrupt: the header says shape {shape} of {dtype.newbyteorder('=')} "
            f"({expected} bytes of data) but the file has {found - expected} bytes more"
        )
    array = np.frombuffer(content, dtype=dtype, offset=header_size).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array) -> None:
    """Write ``array`` as an IDX file, gzip-compressed if ``path`` ends in ``.gz``.

    Parameters
    ----------
    path : str or PathLike
        Destination.
    array : array-like
        uint8, int8, int16, int32, float32 or float64, with 1 to 255 dimensions.
    """
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _CODES:
        allowed = ", ".join(str(d) for d in _CODES)
        raise TypeError(f"write_idx: array dtype must be one of {allowed}, but got {array.dtype}")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"write_idx: array must have 1 to 255 dimensions, but got ndim={array.ndim}")
    header = bytes([0, 0, _CODES[native], array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    content = header + np.ascontiguousarray(array, dtype=_DTYPES[_CODES[native]]).tobytes()
    path = Path(path)
    if path.suffix == ".gz":
        content = gzip.compress(content, mtime=0)  # the same array always gives the same bytes
    path.write_bytes(content)


def _find(directory: Path, stem: str, idx_suffix: str) -> Path:
    """The first existing spelling of one MNIST file (``-idx3-`` or ``.idx3-``, raw or .gz)."""
    names = [f"{stem}{sep}{idx_suffix}{gz}" for sep in ("-", ".") for gz in ("", ".gz")]
    for name in names:
        if (directory / name).is_file():
            return directory / name
    raise FileNotFoundError(f"load_mnist: none of {', '.join(names)} found in {directory}")


def load_mnist(directory: str | os.PathLike, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Load one split of an MNIST-format data set (MNIST, Fashion-MNIST, KMNIST) from IDX files.

    Looks in ``directory`` for ``train-images-idx3-ubyte`` / ``train-labels-idx1-ubyte``
    (``split='train'``) or ``t10k-images-idx3-ubyte`` / ``t10k-labels-idx1-ubyte``
    (``split='test'``), each optionally ``.gz``, also spelled with ``.idx`` instead of ``-idx``.

    Parameters
    ----------
    directory : str or PathLike
        The directory holding the files.
    split : {'train', 'test'}
        Which split.

    Returns
    -------
    images : ndarray of float32, shape (N, 1, H, W)
        Pixels divided by 255, so in [0, 1].
    labels : ndarray of int64, shape (N,)
    """
    if split not in _MNIST_STEMS:
        raise ValueError(f"load_mnist: split must be 'train' or 'test', but got split={split!r}")
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"load_mnist: {directory} is not a directory")
    image_stem, label_stem = _MNIST_STEMS[split]
    image_path = _find(directory, image_stem, "idx3-ubyte")
    label_path = _find(directory, label_stem, "idx1-ubyte")
    images, labels = read_idx(image_path), read_idx(label_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"load_mnist: {image_path} must hold uint8 images (N, H, W), but holds {images.dtype} {images.shape}"
        )
    if labels.ndim != 1:
        raise ValueError(f"load_mnist: {label_path} must hold labels (N,), but holds shape {labels.shape}")
    if len(images) != len(labels):
        raise ValueError(
            f"load_mnist: {image_path} has {len(images)} images but {label_path} has {len(labels)} labels"
        )
    return (images / np.float32(255)).astype(np.float32)[:, None], labels.astype(np.int64)
