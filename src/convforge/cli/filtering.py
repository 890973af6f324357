"""``convforge filter``: a classic image filter, in memory or streamed tile by tile through Dask."""

from __future__ import annotations

import argparse

import numpy as np

from ._common import CommandError, _positive_int


def _vector(values: np.ndarray, limit: int = 9) -> str:
    from ..analysis.explain import format_number

    if len(values) > limit:
        return f"[{len(values)} taps: {format_number(values[0])} ... {format_number(values[len(values) // 2])} ...]"
    return "[" + ", ".join(format_number(v) for v in values) + "]"


def _filter_chunked(args: argparse.Namespace) -> int:
    """``filter --chunks/--scheduler``: stream the image tile by tile through Dask."""
    try:
        from ..dask import stream

        summary = stream.filter_file(
            args.image,
            args.out,
            args.kernel,
            args.padding_mode,
            args.separable,
            args.scale,
            args.chunks or 2048,
            args.scheduler or "threads",
        )
    except ImportError as error:  # dask, distributed, tifffile or zarr missing
        hint = "" if "convforge[dask]" in str(error) else " (pip install convforge[dask])"
        raise CommandError(f"{error}{hint}") from None
    print(summary)
    return 0


def cmd_filter(args: argparse.Namespace) -> int:
    from ..viz import filters

    image_filter = filters.image_filter(args.kernel)
    if args.separable:
        for kernel in image_filter.kernels:
            try:
                column, row = filters.separate(kernel)
            except ValueError as error:
                raise CommandError(f"--separable: kernel {args.kernel!r}: {error}") from None
            kh, kw = kernel.shape
            print(
                f"separable: {_vector(column)}ᵀ · {_vector(row)}: {kh} + {kw} instead of {kh * kw} "
                f"multiplies per pixel"
            )
    if args.chunks is not None or args.scheduler is not None:
        return _filter_chunked(args)
    if args.scale == "none":
        raise CommandError("--scale none writes the float response: add --chunks and a .zarr or .tif output")
    image = filters.read_image(args.image)
    response = filters.filter_image(image, image_filter, args.padding_mode, args.separable)
    scale = args.scale if args.scale != "auto" else ("abs" if image_filter.signed else "clip")
    out = filters.write_image(args.out, filters.to_uint8(response, scale))
    kind = "gray" if image.ndim == 2 else "color"
    kh, kw = image_filter.shape
    print(
        f"{image_filter.name} ({kh}x{kw}) on a {image.shape[1]}x{image.shape[0]} {kind} image, "
        f"{args.padding_mode} padding, scaled by {scale} -> {out}"
    )
    return 0


# --------------------------------------------------------------------------------------
# registration
# --------------------------------------------------------------------------------------


def add_filter(commands) -> None:
    filter_ = commands.add_parser(
        "filter",
        help="filter a PNG/JPEG image with a classic kernel (blur, sharpen, edges)",
        description="Convolve an image (gray, or color per channel) with a classic kernel and save it "
        "as 8 bits: edge filters as |response| scaled to 0..255, the others clipped.",
    )
    filter_.add_argument(
        "image", metavar="IMAGE", help="PNG or JPEG file (with --chunks also a TIFF or a .zarr store)"
    )
    filter_.add_argument(
        "--kernel",
        required=True,
        metavar="NAME",
        help="sobel-x, sobel-y, sobel, prewitt(-x/-y), gaussian:SIGMA, box:K, sharpen, "
        "laplacian, emboss or FILE.npy",
    )
    filter_.add_argument(
        "--padding-mode",
        choices=("reflect", "replicate", "circular", "zeros"),
        default="reflect",
        help="how the border is filled (default reflect)",
    )
    filter_.add_argument(
        "--separable", action="store_true", help="run as a column then a row pass (rank-1 kernels only)"
    )
    filter_.add_argument(
        "--scale",
        choices=("auto", "clip", "abs", "minmax", "none"),
        default="auto",
        help="to 8 bits: auto (abs for edge kernels, else clip), clip, abs or minmax; "
        "none: the float32 response (with --chunks)",
    )
    filter_.add_argument("-o", "--out", required=True, help="image to write (format from the suffix)")
    filter_.add_argument(
        "--chunks",
        type=_positive_int,
        default=None,
        metavar="N",
        help="stream the image through Dask in NxN tiles (default 2048 with --scheduler) and write "
        "a .zarr store or a .tif file without holding the image in memory",
    )
    filter_.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS|local|threads",
        help="where the tiles run: a Dask scheduler address (tcp://host:8786), 'local' (a "
        "LocalCluster on this machine) or 'threads' (the default with --chunks)",
    )
    filter_.set_defaults(handler=cmd_filter)


COMMANDS = (add_filter,)
