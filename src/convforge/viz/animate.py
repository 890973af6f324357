"""Sliding-window animations of 2-D convolution, in the style of the classic
convolution-arithmetic figures (Dumoulin & Visin): blue input, dashed white padding, the
kernel's shadow moving over it and the teal output filling in, one frame per output cell.

A transposed convolution is drawn as what it computes: a stride-1 convolution with the
flipped kernel over the input with ``stride - 1`` zeros inserted between its cells and
``dilation*(kernel-1) - padding`` cells of padding before and after it (plus
``output_padding`` after), the padding of :func:`convforge.spec.grad_input_spec`. Values
(small random integers) are printed in the cells when both grids are at most 12 cells
wide; the output values are the library's own ``conv2d``/``conv_transpose2d`` results.

Frames are drawn directly in palette mode with the fixed colors below, so every pixel of
a GIF read back has one of them: the tests check the window by color.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import spec as sp
from ..analysis.explain import format_number
from ..analysis.shapes import transposed_as_conv
from ..functional.conv import conv_nd

__all__ = ["COLORS", "ConvAnimation", "animate_conv"]

# name -> RGB; the palette index is the position in this dict
COLORS = {
    "background": (255, 255, 255),
    "ink": (34, 34, 34),
    "grid": (90, 90, 90),
    "dash": (150, 150, 150),
    "input": (133, 182, 226),  # input cell
    "window": (28, 74, 148),  # kernel tap over an input cell
    "window_pad": (112, 140, 196),  # kernel tap over padding or an inserted zero
    "output": (102, 198, 186),  # computed output cell
    "current": (0, 118, 112),  # the output cell of this frame
    "light_ink": (246, 246, 246),  # text on dark cells (distinct from the background)
    "weight": (255, 214, 102),  # kernel weights printed in the window
    "muted": (120, 120, 120),
}
_INDEX = {name: i for i, name in enumerate(COLORS)}
PALETTE = [channel for rgb in COLORS.values() for channel in rgb]

PAD, INPUT, INSERTED = 0, 1, 2  # kinds of cells in the drawn input grid


@dataclass
class ConvAnimation:
    """Frames of one animation and the geometry needed to read them back.

    ``kinds[r, c]`` says what drawn input cell ``(r, c)`` is (:data:`PAD`, :data:`INPUT`,
    :data:`INSERTED`); ``windows[i]`` lists the drawn input cells that output ``i`` (C order)
    reads; ``input_boxes``/``output_boxes`` hold each cell's pixel box ``(x0, y0, x1, y1)``.
    """

    frames: list = field(repr=False)
    durations: list[int]
    kinds: np.ndarray
    windows: list[list[tuple[int, int]]]
    input_boxes: dict[tuple[int, int], tuple[int, int, int, int]] = field(repr=False)
    output_boxes: dict[tuple[int, int], tuple[int, int, int, int]] = field(repr=False)
    output_shape: tuple[int, int]
    title: str
    values: np.ndarray = field(repr=False)  # the output values printed (the library's result)

    def save(self, path: str | Path) -> Path:
        """Write an endlessly looping GIF."""
        path = Path(path)
        self.frames[0].save(
            path,
            save_all=True,
            append_images=self.frames[1:],
            duration=self.durations,
            loop=0,
            optimize=False,
        )
        return path

    def save_frames(self, directory: str | Path) -> list[Path]:
        """Write each frame as ``frame_000.png``, ... into ``directory`` (created)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        for i, frame in enumerate(self.frames):
            path = directory / f"frame_{i:03d}.png"
            frame.save(path)
            paths.append(path)
        return paths


def _font(size: int):
    from PIL import ImageFont

    try:
        import matplotlib

        path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
        return ImageFont.truetype(str(path), size)
    except (ImportError, OSError):  # pragma: no cover - matplotlib ships the font
        return ImageFont.load_default(size)


def _conv_args(op, stride, padding, dilation, transposed, output_padding) -> sp.ConvArgs:
    return sp.ConvArgs.parse(
        op,
        2,
        stride=stride,
        padding=padding,
        dilation=dilation,
        transposed=transposed,
        output_padding=output_padding,
    )


def _grid_geometry(op: str, h_w, kernel, args: sp.ConvArgs):
    """(kinds, source, out_size, step, dilation, spec) of the drawn convolution.

    ``source[r, c]`` is the flat index of the input cell drawn at ``(r, c)`` or -1.
    """
    spec = args.resolve(sp.Operand((1, 1, *h_w)), sp.Operand((1, 1, *kernel)))
    if not args.transposed:
        index = np.arange(h_w[0] * h_w[1]).reshape(h_w)
        source = np.pad(index, spec.padding, constant_values=-1)
        kinds = np.where(source >= 0, INPUT, PAD)
        return kinds, source, spec.out_spatial, spec.stride, spec.dilation, spec
    axes = []
    for i, s, (_, before, after) in zip(h_w, spec.stride, transposed_as_conv(spec, h_w)):
        q = np.arange((i - 1) * s + 1 + before + after) - before  # zero-inserted coordinate
        inside = (q >= 0) & (q <= (i - 1) * s)
        axes.append((np.where(inside & (q % s == 0), q // s, -1), inside))
    (rows, rows_in), (cols, cols_in) = axes
    source = np.where((rows[:, None] >= 0) & (cols[None, :] >= 0), rows[:, None] * h_w[1] + cols[None, :], -1)
    inserted = rows_in[:, None] & cols_in[None, :]
    kinds = np.where(source >= 0, INPUT, np.where(inserted, INSERTED, PAD))
    return kinds, source, spec.in_shape[2:], (1, 1), spec.dilation, spec


def _library_output(x, w, args: sp.ConvArgs) -> tuple[np.ndarray, np.ndarray]:
    """(output values, the kernel as drawn): the library's own convolution of ``x`` by ``w``."""
    y = conv_nd(args, x[None, None], w[None, None], op="animate").array[0, 0]
    # the stride-1 view of a transposed convolution correlates with the flipped kernel
    return y, (w[::-1, ::-1] if args.transposed else w)


def _windows(out_size, step, dil, kernel) -> list[list[tuple[int, int]]]:
    """The drawn input cells each output (C order) reads."""
    return [
        [
            (i * step[0] + a * dil[0], j * step[1] + b * dil[1])
            for a in range(kernel[0])
            for b in range(kernel[1])
        ]
        for i in range(out_size[0])
        for j in range(out_size[1])
    ]


def _describe(transposed, h_w, kernel, spec, output_padding) -> str:
    def pair(values) -> str:
        return str(values[0]) if values[0] == values[1] else f"({values[0]}, {values[1]})"

    pads = spec.padding
    pad_text = str(pads[0][0]) if len(set(pads)) == 1 and pads[0][0] == pads[0][1] else str(pads)
    name = "transposed conv" if transposed else "conv"
    text = (
        f"{name}: {h_w[0]}x{h_w[1]} input, {kernel[0]}x{kernel[1]} kernel, stride {pair(spec.stride)}, "
        f"padding {pad_text}, dilation {pair(spec.dilation)}"
    )
    if transposed and any(sp.ntuple(output_padding, 2, "output_padding", "animate")):
        text += f", output_padding {pair(sp.ntuple(output_padding, 2, 'output_padding', 'animate'))}"
    return text


def animate_conv(
    input_size=5,
    kernel_size=3,
    stride=1,
    padding=0,
    dilation=1,
    transposed: bool = False,
    output_padding=0,
    values: bool | None = None,
    seed: int = 0,
    cell: int = 36,
    duration: int = 700,
    hold: int = 1800,
) -> ConvAnimation:
    """Draw the kernel sliding over the (padded) input, one frame per output cell.

    Parameters
    ----------
    input_size, kernel_size, stride, padding, dilation
        As in ``conv2d`` (padding may be ``'same'`` or asymmetric pairs) or, with
        ``transposed=True``, as in ``conv_transpose2d`` together with ``output_padding``.
    values : bool, optional
        Print cell values (default: when both grids are at most 12 cells wide).
    seed : int
        Seed of the small random integer input (0..3) and kernel (-1..2).
    cell : int
        Cell size in pixels.
    duration, hold : int
        Milliseconds per frame, and for the last frame.

    Returns
    -------
    ConvAnimation
        ``.save(path)`` writes the GIF, ``.save_frames(dir)`` PNGs.
    """
    op = "animate"
    if not isinstance(cell, int) or cell < 12:
        raise ValueError(f"{op}: cell must be an int of at least 12 pixels, but got cell={cell!r}")
    if transposed and isinstance(padding, str):
        raise ValueError(f"{op}: a transposed convolution takes int padding, but got padding={padding!r}")
    h_w = sp.ntuple(input_size, 2, "input_size", op, minimum=1)
    kernel = sp.ntuple(kernel_size, 2, "kernel_size", op, minimum=1)
    args = _conv_args(op, stride, padding, dilation, bool(transposed), output_padding)
    kinds, source, out_size, step, dil, spec = _grid_geometry(op, h_w, kernel, args)
    if kinds.shape[0] > 40 or kinds.shape[1] > 40 or out_size[0] * out_size[1] > 400:
        raise ValueError(
            f"{op}: the drawing would be too large ({kinds.shape[0]}x{kinds.shape[1]} input cells, "
            f"{out_size[0]}x{out_size[1]} outputs); use at most 40x40 cells and 400 outputs"
        )
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, size=h_w).astype(np.float64)
    w = rng.integers(-1, 3, size=kernel).astype(np.float64)
    y, shown_w = _library_output(x, w, args)
    if values is None:
        values = max(kinds.shape) <= 12 and max(out_size) <= 12
    windows = _windows(out_size, step, dil, kernel)
    title = _describe(transposed, h_w, kernel, spec, output_padding)
    subtitle = (
        "= stride-1 conv with the flipped kernel over the zero-inserted, padded input"
        if transposed
        else f"output {out_size[0]}x{out_size[1]}"
    )
    if transposed:
        subtitle += f" -> output {out_size[0]}x{out_size[1]}"
    painter = _Painter(kinds, out_size, cell, title, subtitle)
    frames = [
        painter.frame(k, windows[k], x.ravel(), source, shown_w, y, values) for k in range(len(windows))
    ]
    durations = [duration] * (len(frames) - 1) + [hold]
    return ConvAnimation(
        frames,
        durations,
        kinds,
        windows,
        painter.input_boxes,
        painter.output_boxes,
        tuple(out_size),
        title,
        y,
    )


class _Painter:
    """Lays out the two grids and draws one frame at a time (palette mode, no anti-aliasing)."""

    MARGIN = 16
    GAP = 56

    def __init__(self, kinds: np.ndarray, out_size, cell: int, title: str, subtitle: str) -> None:
        self.kinds, self.out_size, self.cell = kinds, tuple(out_size), cell
        self.title, self.subtitle = title, subtitle
        self.font = _font(max(10, cell * 2 // 5))
        self.small = _font(max(8, cell * 2 // 7))
        self.head = _font(14)
        rows, cols = kinds.shape
        top = self.MARGIN + 64  # two title lines and the grid labels
        grid_h = max(rows, self.out_size[0]) * cell
        in_top = top + (grid_h - rows * cell) // 2
        out_top = top + (grid_h - self.out_size[0] * cell) // 2
        out_left = self.MARGIN + cols * cell + self.GAP
        self.width = out_left + self.out_size[1] * cell + self.MARGIN
        text_width = max(self.head.getlength(title), self.head.getlength(subtitle))
        self.width = max(self.width, int(text_width) + 2 * self.MARGIN)
        self.height = top + grid_h + self.MARGIN
        self.input_boxes = {
            (r, c): (
                self.MARGIN + c * cell,
                in_top + r * cell,
                self.MARGIN + (c + 1) * cell,
                in_top + (r + 1) * cell,
            )
            for r in range(rows)
            for c in range(cols)
        }
        self.output_boxes = {
            (r, c): (
                out_left + c * cell,
                out_top + r * cell,
                out_left + (c + 1) * cell,
                out_top + (r + 1) * cell,
            )
            for r in range(self.out_size[0])
            for c in range(self.out_size[1])
        }
        self.labels = ((self.MARGIN, in_top - 18, "input"), (out_left, out_top - 18, "output"))

    def frame(self, k: int, window, x_flat, source, shown_w, y, values: bool):
        from PIL import Image, ImageDraw

        image = Image.new("P", (self.width, self.height), _INDEX["background"])
        image.putpalette(PALETTE)
        draw = ImageDraw.Draw(image)
        draw.text((self.MARGIN, self.MARGIN), self.title, fill=_INDEX["ink"], font=self.head)
        draw.text((self.MARGIN, self.MARGIN + 20), self.subtitle, fill=_INDEX["muted"], font=self.head)
        for x0, y0, text in self.labels:
            draw.text((x0, y0), text, fill=_INDEX["muted"], font=self.head)
        taps = {cell: t for t, cell in enumerate(window)}
        for (r, c), box in self.input_boxes.items():
            kind = self.kinds[r, c]
            if (r, c) in taps:
                fill = "window" if kind == INPUT else "window_pad"
            else:
                fill = "input" if kind == INPUT else "background"
            draw.rectangle(box, fill=_INDEX[fill])
            if kind == INPUT:
                draw.rectangle(box, outline=_INDEX["grid"])
            else:
                _dashed_box(draw, box, _INDEX["dash"])
            if values:
                ink = "light_ink" if (r, c) in taps else "ink"
                text = format_number(x_flat[source[r, c]]) if kind == INPUT else "0"
                if kind == INPUT or (r, c) in taps:
                    _centered(draw, box, text, self.font, _INDEX[ink])
                if (r, c) in taps:
                    t = taps[(r, c)]
                    weight = format_number(shown_w.ravel()[t])
                    draw.text(
                        (box[2] - 3, box[3] - 2), weight, fill=_INDEX["weight"], font=self.small, anchor="rb"
                    )
        _window_outline(draw, [self.input_boxes[cell] for cell in window], _INDEX["window"])
        current = divmod(k, self.out_size[1])
        for (r, c), box in self.output_boxes.items():
            order = r * self.out_size[1] + c
            fill = "current" if order == k else ("output" if order < k else "background")
            draw.rectangle(box, fill=_INDEX[fill], outline=_INDEX["grid"])
            if values and order <= k:
                ink = "light_ink" if (r, c) == current else "ink"
                _centered(draw, box, format_number(y[r, c]), self.font, _INDEX[ink])
        return image


def _centered(draw, box, text: str, font, fill: int) -> None:
    draw.text(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), text, fill=fill, font=font, anchor="mm")


def _dashed_box(draw, box, fill: int, dash: int = 4) -> None:
    """A dashed outline: the classic drawing of padding cells."""
    x0, y0, x1, y1 = box
    for start in range(x0, x1, 2 * dash):
        stop = min(start + dash, x1)
        draw.line([(start, y0), (stop, y0)], fill=fill)
        draw.line([(start, y1), (stop, y1)], fill=fill)
    for start in range(y0, y1, 2 * dash):
        stop = min(start + dash, y1)
        draw.line([(x0, start), (x0, stop)], fill=fill)
        draw.line([(x1, start), (x1, stop)], fill=fill)


def _window_outline(draw, boxes, fill: int) -> None:
    """A 2-pixel frame around the kernel's whole extent (dilation gaps included)."""
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[2] for b in boxes)
    y1 = max(b[3] for b in boxes)
    draw.rectangle((x0, y0, x1, y1), outline=fill, width=2)
