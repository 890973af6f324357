"""``convforge shape | explain | animate``: the geometry of one convolution, as numbers and
pictures."""

from __future__ import annotations

import argparse

import numpy as np

from ._common import CommandError, _matrix, _padding, _positive_int, _shape, _sizes


def cmd_shape(args: argparse.Namespace) -> int:
    from ..analysis import conv_output_shape, pool_output_shape

    if args.pool:
        conflicts = [
            flag
            for flag, set_ in (
                ("--transposed", args.transposed),
                ("--out-channels", args.out_channels is not None),
                ("--groups", args.groups != 1),
            )
            if set_
        ]
        if conflicts:
            raise CommandError(f"--pool does not take {', '.join(conflicts)}")
        if isinstance(args.padding, str):
            raise CommandError(f"--pool takes int padding, not {args.padding!r}")
        # stride defaults to the kernel for pools, as in torch
        report = pool_output_shape(
            args.input, args.kernel, args.stride, args.padding, args.dilation, args.ceil_mode, args.pool
        )
    else:
        if args.ceil_mode:
            raise CommandError("--ceil-mode applies to --pool only")
        report = conv_output_shape(
            args.input,
            args.kernel,
            args.out_channels,
            1 if args.stride is None else args.stride,
            args.padding,
            args.dilation,
            args.groups,
            args.transposed,
            args.output_padding,
        )
    print(report)
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from ..analysis import explain

    kernel = args.kernel
    if isinstance(kernel, str):
        from ..viz.filters import image_filter

        kernels = image_filter(kernel).kernels
        if len(kernels) != 1:
            raise CommandError(
                f"--kernel {kernel!r} is two kernels (a gradient magnitude); pick its -x or -y"
            )
        kernel = kernels[0]
    bias = None if args.bias is None else [args.bias]
    index = tuple(int(v) for v in args.at.split(","))
    print(
        explain(
            args.input,
            kernel,
            index,
            bias,
            args.stride,
            args.padding,
            args.dilation,
            padding_mode=args.padding_mode,
        )
    )
    return 0


def _kernel_or_matrix(text: str):
    """--kernel of explain: a named filter kernel, a .npy file or a matrix."""
    from ..viz.filters import KERNELS

    if text in KERNELS or text.startswith(("gaussian:", "box:")):
        return text
    return _matrix(text)


def cmd_animate(args: argparse.Namespace) -> int:
    from ..viz.animate import animate_conv

    animation = animate_conv(
        args.input,
        args.kernel,
        args.stride,
        args.padding,
        args.dilation,
        args.transposed,
        args.output_padding,
        values=False if args.no_values else None,
        seed=args.seed,
        cell=args.cell,
    )
    out = animation.save(args.out)
    rows, cols = animation.output_shape
    print(f"{animation.title}: {len(animation.frames)} frames ({rows}x{cols} outputs) -> {out}")
    if args.frames:
        paths = animation.save_frames(args.frames)
        print(f"wrote {len(paths)} PNG frames to {args.frames}")
    return 0


# --------------------------------------------------------------------------------------
# registration
# --------------------------------------------------------------------------------------


def _add_window_arguments(parser) -> None:
    """``--stride``, ``--padding`` and ``--dilation`` of a convolution, as explain and animate take them."""
    parser.add_argument("--stride", type=_sizes, default=1, metavar="S")
    parser.add_argument("--padding", type=_padding, default=0, metavar="P", help="1, 1x2, same or valid")
    parser.add_argument("--dilation", type=_sizes, default=1, metavar="D")


def add_shape(commands) -> None:
    shape = commands.add_parser(
        "shape",
        help="output shape of a convolution, transposed convolution or pooling, with its formula",
        description="Print the output shape of one layer and the formula with the numbers substituted. "
        "An impossible configuration prints why and exits with status 1.",
    )
    shape.add_argument(
        "--input", type=_shape, required=True, metavar="NxCxHxW", help="input shape, e.g. 1x3x32x32"
    )
    shape.add_argument("--kernel", type=_sizes, required=True, metavar="K", help="kernel size: 3 or 3x5")
    shape.add_argument(
        "--stride", type=_sizes, default=None, metavar="S", help="stride (default 1; pools: the kernel)"
    )
    shape.add_argument(
        "--padding", type=_padding, default=0, metavar="P", help="padding: 1, 1x2, same or valid"
    )
    shape.add_argument("--dilation", type=_sizes, default=1, metavar="D", help="dilation (default 1)")
    shape.add_argument(
        "--out-channels", type=_positive_int, default=None, help="output channels (default: input's)"
    )
    shape.add_argument("--groups", type=_positive_int, default=1, help="groups (default 1)")
    shape.add_argument("--transposed", action="store_true", help="transposed convolution")
    shape.add_argument(
        "--output-padding", type=_sizes, default=0, metavar="P", help="transposed: extra output rows/cols"
    )
    shape.add_argument("--pool", choices=("max", "avg"), help="a pooling layer instead of a convolution")
    shape.add_argument("--ceil-mode", action="store_true", help="pooling: round the output size up")
    shape.set_defaults(handler=cmd_shape)


def add_explain(commands) -> None:
    explain = commands.add_parser(
        "explain",
        help="write one output element as its sum of products",
        description="Write one output element of a 2-D (or any N-d, from .npy) convolution as its sum of "
        "products, term by term. Without arguments: the d2l example (3x3 input 0..8, 2x2 kernel 0..3).",
    )
    explain.add_argument(
        "--input",
        type=_matrix,
        default=np.arange(9.0).reshape(3, 3),
        metavar="MATRIX",
        help="'0 1 2; 3 4 5; 6 7 8' or FILE.npy of shape (C, H, W)",
    )
    explain.add_argument(
        "--kernel",
        type=_kernel_or_matrix,
        default=np.arange(4.0).reshape(2, 2),
        metavar="MATRIX",
        help="'0 1; 2 3', FILE.npy of shape (C_out, C_in, kH, kW), or sobel-x, gaussian:1, ...",
    )
    explain.add_argument(
        "--at", default="0,0", metavar="I,J", help="output position (o,i,j with channels); default 0,0"
    )
    _add_window_arguments(explain)
    explain.add_argument(
        "--padding-mode", choices=("zeros", "reflect", "replicate", "circular"), default="zeros"
    )
    explain.add_argument("--bias", type=float, default=None, help="a bias added to the sum")
    explain.set_defaults(handler=cmd_explain)


def add_animate(commands) -> None:
    animate = commands.add_parser(
        "animate",
        help="GIF of the kernel sliding over the input (padding, stride, dilation, transposed)",
        description="Draw a 2-D convolution as a GIF in the style of the convolution-arithmetic figures: "
        "one frame per output cell. A transposed convolution is drawn as the stride-1 convolution over "
        "the zero-inserted, padded input.",
    )
    animate.add_argument("--input", type=_sizes, default=5, metavar="H[xW]", help="input size (default 5)")
    animate.add_argument("--kernel", type=_sizes, default=3, metavar="K", help="kernel size (default 3)")
    _add_window_arguments(animate)
    animate.add_argument("--transposed", action="store_true", help="transposed convolution")
    animate.add_argument("--output-padding", type=_sizes, default=0, metavar="P")
    animate.add_argument("--seed", type=int, default=0, help="seed of the random small-integer values")
    animate.add_argument("--no-values", action="store_true", help="do not print values in the cells")
    animate.add_argument("--cell", type=_positive_int, default=36, help="cell size in pixels (default 36)")
    animate.add_argument("--frames", metavar="DIR", help="also write every frame as a PNG into DIR")
    animate.add_argument(
        "-o", "--out", default="convolution.gif", help="GIF to write (default convolution.gif)"
    )
    animate.set_defaults(handler=cmd_animate)


COMMANDS = (add_shape, add_explain, add_animate)
