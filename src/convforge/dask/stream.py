"""Filter an image file that does not fit in memory, tile by tile, on any Dask scheduler.

Reading: a TIFF is read lazily through ``tifffile`` (a plain one memory-mapped, a tiled or
compressed one through its zarr view), a zarr store with ``dask.array.from_zarr``; a
PNG/JPEG has no random access, so it is decoded whole and then chunked. Every reader
opens the file inside the task, so workers on other machines read it themselves (a
shared file system is assumed, as for any Dask file I/O).

Writing: a ``.zarr`` store through ``dask.array.to_zarr``; a ``.tif``/``.tiff`` as an
uncompressed TIFF that every task memory-maps and fills with its own tile. Neither holds
the whole result anywhere. 8-bit output (``scale`` clip/abs/minmax) applies
``convforge.viz.filters.to_uint8`` per block; abs and minmax need the response's global
range first, so they read and filter the image twice.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import dask
import dask.array as da
import numpy as np

from ..viz import filters as image_filters
from .filters import filter as dask_filter

TIFF_SUFFIXES = (".tif", ".tiff")
OUTPUT_SCALES = ("auto", "clip", "abs", "minmax", "none")


# --------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TiffSource:
    """Array-like view of a TIFF's first image that opens the file on every read.

    Holds only the path, so it pickles to remote workers; ``dask.array.from_array`` reads
    one chunk per ``__getitem__``.
    """

    path: str
    shape: tuple[int, ...]
    dtype: np.dtype
    mappable: bool

    @classmethod
    def open(cls, path: str) -> TiffSource:
        import tifffile

        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            shape, dtype = tuple(series.shape), np.dtype(series.dtype)
        try:
            tifffile.memmap(path, mode="r")
            mappable = True
        except ValueError:  # compressed or tiled: not memory-mappable
            mappable = False
        return cls(str(path), shape, dtype, mappable)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __getitem__(self, key) -> np.ndarray:
        import tifffile

        if self.mappable:
            pixels = tifffile.memmap(self.path, mode="r")
            return np.array(pixels[key])
        import zarr

        with tifffile.imread(self.path, aszarr=True) as store:
            return np.asarray(zarr.open(store, mode="r")[key])


def open_image(path: str | Path, chunks: int) -> da.Array:
    """A gray (H, W) or color (H, W, 3) image file as a dask array of ``chunks``-sided tiles.

    A fourth (alpha) channel is dropped, as ``read_image`` does.
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"image {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".zarr":
        image = da.from_zarr(str(path))  # storage chunks, regrouped into tiles below
    elif suffix in TIFF_SUFFIXES:
        source = TiffSource.open(str(path))
        tiles = (chunks, chunks, -1)[: source.ndim]  # every task reads one tile of the file
        image = da.from_array(source, chunks=tiles, asarray=True, lock=False)
    else:
        image = da.from_array(image_filters.read_image(path))
    if image.ndim == 3 and image.shape[-1] == 4:
        image = image[..., :3]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] != 3):
        raise ValueError(
            f"image {str(path)!r} must hold a gray (H, W) or color (H, W, 3) image, "
            f"but holds an array of shape {image.shape}"
        )
    return image.rechunk((chunks, chunks, -1)[: image.ndim])


# --------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TiffTarget:
    """An uncompressed TIFF that ``dask.array.store`` fills one block at a time.

    Each ``__setitem__`` maps the file, writes its region and unmaps it again, so no task
    keeps pages of the file resident.
    """

    path: str

    @classmethod
    def create(cls, path: str, shape: tuple[int, ...], dtype) -> TiffTarget:
        import tifffile

        photometric = "rgb" if len(shape) == 3 else "minisblack"
        pixels = tifffile.memmap(path, shape=shape, dtype=dtype, photometric=photometric)
        del pixels
        return cls(str(path))

    def __setitem__(self, key, value) -> None:
        import tifffile

        pixels = tifffile.memmap(self.path, mode="r+")
        pixels[key] = value
        pixels.flush()
        del pixels


def to_uint8(response: da.Array, scale: str) -> da.Array:
    """``convforge.viz.filters.to_uint8`` block by block (abs/minmax: one pass for the range)."""
    if scale == "clip":
        return response.map_blocks(image_filters.to_uint8, "clip", dtype=np.uint8)
    if scale in ("abs", "minmax"):
        values = da.abs(response) if scale == "abs" else response
        limits = image_filters.uint8_limits(*dask.compute(values.min(), values.max()))
        return response.map_blocks(image_filters.to_uint8, scale, limits, dtype=np.uint8)
    raise ValueError(f"to_uint8: scale must be one of clip, abs, minmax, but got scale={scale!r}")


def store(result: da.Array, out: str | Path, chunks: int):
    """The lazy write of ``result`` to a ``.zarr`` store or a ``.tif``/``.tiff`` file."""
    out = Path(out)
    suffix = out.suffix.lower()
    result = result.rechunk((chunks, chunks, -1)[: result.ndim])  # zarr needs regular chunks
    if suffix == ".zarr":
        return da.to_zarr(result, str(out), compute=False, mode="w")
    target = TiffTarget.create(str(out), result.shape, result.dtype)
    return da.store(result, target, lock=False, compute=False)


def check_output(out: str | Path) -> None:
    suffix = Path(out).suffix.lower()
    if suffix != ".zarr" and suffix not in TIFF_SUFFIXES:
        raise ValueError(
            f"a chunked filter writes a .zarr store or a .tif/.tiff file (PNG/JPEG need the whole "
            f"image in memory: drop --chunks/--scheduler), but got --out {str(out)!r}"
        )


# --------------------------------------------------------------------------------------
# schedulers
# --------------------------------------------------------------------------------------
@contextlib.contextmanager
def scheduler(name: str):
    """``'threads'``, ``'local'`` (a LocalCluster on this machine) or a scheduler address.

    Yields a ``distributed.Client`` or None (the threaded scheduler).
    """
    if name == "threads":
        with dask.config.set(scheduler="threads"):
            yield None
        return
    from distributed import Client, LocalCluster

    if name == "local":
        with LocalCluster(dashboard_address=":0") as cluster, Client(cluster) as client:
            yield client
        return
    with Client(name) as client:
        yield client


def run(task, client) -> None:
    """Compute ``task`` with Dask's progress bar (the distributed one for a client)."""
    if client is None:
        from dask.diagnostics import ProgressBar

        with ProgressBar():
            dask.compute(task)
        return
    from distributed import progress

    future = client.compute(task)
    progress(future)
    future.result()


# --------------------------------------------------------------------------------------
# the whole job, as `convforge filter --chunks`
# --------------------------------------------------------------------------------------
def filter_file(
    image_path: str | Path,
    out: str | Path,
    kernel: str,
    padding_mode: str = "reflect",
    separable: bool = False,
    scale: str = "auto",
    chunks: int = 2048,
    scheduler_name: str = "threads",
) -> str:
    """Filter ``image_path`` tile by tile into ``out`` (.zarr or .tif); a one-line summary.

    ``scale``: as ``convforge filter`` (auto = abs for edge kernels, else clip) to 8 bits,
    or ``'none'`` for the float32 response itself.
    """
    if scale not in OUTPUT_SCALES:
        raise ValueError(f"filter_file: scale must be one of {', '.join(OUTPUT_SCALES)}, but got {scale!r}")
    if not isinstance(chunks, int) or isinstance(chunks, bool) or chunks < 1:
        raise ValueError(f"filter_file: chunks must be a positive int, but got chunks={chunks!r}")
    check_output(out)
    image_filter = image_filters.image_filter(kernel)
    with scheduler(scheduler_name) as client:
        image = open_image(image_path, chunks)
        response = dask_filter(image, image_filter, padding_mode, separable)
        if scale == "auto":
            scale = "abs" if image_filter.signed else "clip"
        result = response.astype(np.float32) if scale == "none" else to_uint8(response, scale)
        run(store(result, out, chunks), client)
        where = "threads" if client is None else f"{len(client.scheduler_info()['workers'])} workers"
    kind = "gray" if image.ndim == 2 else "color"
    kh, kw = image_filter.shape
    return (
        f"{image_filter.name} ({kh}x{kw}) on a {image.shape[1]}x{image.shape[0]} {kind} image in "
        f"{chunks}x{chunks} tiles on {where}, {padding_mode} padding, scaled by {scale} -> {out}"
    )
