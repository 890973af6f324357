"""Animations read back from the GIF: one frame per output cell, and frame i highlights
exactly the input cells that output i reads (checked by pixel color)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageSequence

import convforge as cf
from convforge.viz.animate import COLORS, INPUT, INSERTED, PAD, animate_conv

NAMES = {rgb: name for name, rgb in COLORS.items()}
INSET = 4  # sample cells away from borders and centred text


def read_gif(path) -> list[np.ndarray]:
    with Image.open(path) as gif:
        return [np.asarray(frame.convert("RGB")) for frame in ImageSequence.Iterator(gif)]


def color_at(frame: np.ndarray, box) -> str:
    return NAMES[tuple(int(v) for v in frame[box[1] + INSET, box[0] + INSET])]


def highlighted(frame: np.ndarray, animation) -> set[tuple[int, int]]:
    return {cell for cell, box in animation.input_boxes.items() if color_at(frame, box).startswith("window")}


CONFIGS = [
    {"input_size": 5, "kernel_size": 3},  # no padding, no strides
    {"input_size": 5, "kernel_size": 3, "stride": 2, "padding": 1},
    {"input_size": 7, "kernel_size": 3, "dilation": 2},
    {"input_size": (5, 6), "kernel_size": (3, 2), "stride": (2, 1), "padding": ((1, 0), (0, 1))},
    {"input_size": 6, "kernel_size": 3, "stride": 2, "padding": "same"},
    {"input_size": 2, "kernel_size": 3, "transposed": True},  # the seed's 2x2 -> 4x4
    {"input_size": 3, "kernel_size": 3, "stride": 2, "padding": 1, "transposed": True, "output_padding": 1},
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_gif_has_one_frame_per_output_and_highlights_its_window(config, tmp_path):
    animation = animate_conv(**config)
    frames = read_gif(animation.save(tmp_path / "conv.gif"))
    rows, cols = animation.output_shape
    assert len(frames) == rows * cols
    for i, frame in enumerate(frames):
        window = set(animation.windows[i])
        assert highlighted(frame, animation) == window, f"frame {i}"
        for cell, box in animation.input_boxes.items():
            on_input = animation.kinds[cell] == INPUT
            expected = (
                ("window" if on_input else "window_pad")
                if cell in window
                else ("input" if on_input else "background")
            )
            assert color_at(frame, box) == expected
        for (r, c), box in animation.output_boxes.items():
            order = r * cols + c
            expected = "current" if order == i else "output" if order < i else "background"
            assert color_at(frame, box) == expected


def test_windows_are_the_cells_the_convolution_reads():
    """Window i holds the padded cells i*stride + tap*dilation, clipped to nothing else."""
    animation = animate_conv(6, 3, stride=2, padding=1, dilation=2)
    assert animation.output_shape == (2, 2)
    assert animation.windows[3] == [(2 + 2 * a, 2 + 2 * b) for a in range(3) for b in range(3)]
    assert animation.kinds.shape == (8, 8)
    assert (animation.kinds[0] == PAD).all() and (animation.kinds[1:7, 1:7] == INPUT).all()


def test_transposed_is_drawn_over_the_zero_inserted_padded_input():
    # 3x3 input, stride 2: 5x5 with zeros inserted; kernel 3, padding 1: 1 cell around
    animation = animate_conv(3, 3, stride=2, padding=1, transposed=True)
    kinds = animation.kinds
    assert kinds.shape == (7, 7) and animation.output_shape == (5, 5)
    assert [tuple(map(int, rc)) for rc in np.argwhere(kinds == INPUT)] == [
        (r, c) for r in (1, 3, 5) for c in (1, 3, 5)
    ]
    assert kinds[2, 2] == INSERTED and kinds[0, 0] == PAD


def test_padding_cells_are_white_with_a_dashed_border(tmp_path):
    animation = animate_conv(3, 3, padding=1)
    frame = read_gif(animation.save(tmp_path / "a.gif"))[-1]
    x0, y0, x1, _ = animation.input_boxes[(0, 4)]  # top-right padding cell, outside the last window
    assert color_at(frame, (x0, y0)) == "background"
    border = {NAMES[tuple(int(v) for v in frame[y0, x])] for x in range(x0, x1)}
    assert border == {"dash", "background"}


def test_cell_values_are_printed_only_when_asked(tmp_path):
    def ink_in(frame, box) -> bool:
        cx, cy = (box[0] + box[2]) // 2, (box[1] + box[3]) // 2
        patch = frame[cy - 6 : cy + 6, cx - 6 : cx + 6].reshape(-1, 3)
        return len({tuple(p) for p in patch}) > 1

    with_values = animate_conv(4, 2, values=True)
    without = animate_conv(4, 2, values=False)
    frame = np.asarray(with_values.frames[-1].convert("RGB"))
    assert all(ink_in(frame, box) for box in with_values.output_boxes.values())
    frame = np.asarray(without.frames[-1].convert("RGB"))
    assert not any(ink_in(frame, box) for box in without.output_boxes.values())


def test_printed_output_values_are_the_library_convolution():
    animation = animate_conv(5, 3, stride=2, padding=1, seed=3)
    rng = np.random.default_rng(3)
    x = rng.integers(0, 4, (5, 5)).astype(float)
    w = rng.integers(-1, 3, (3, 3)).astype(float)
    expected = cf.nn.functional.conv2d(x[None, None], w[None, None], None, 2, 1).array[0, 0]
    assert animation.values.tolist() == expected.tolist()


def test_png_frames_equal_the_gif_frames(tmp_path):
    animation = animate_conv(4, 3, padding=1)
    paths = animation.save_frames(tmp_path / "frames")
    assert [p.name for p in paths] == [f"frame_{i:03d}.png" for i in range(16)]
    gif = read_gif(animation.save(tmp_path / "a.gif"))
    for path, frame in zip(paths, gif):
        np.testing.assert_array_equal(np.asarray(Image.open(path).convert("RGB")), frame)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_size": 2, "kernel_size": 5}, "kernel size can't be greater"),
        ({"input_size": 60}, "too large"),
        ({"transposed": True, "padding": "same"}, "takes int padding"),
        ({"cell": 4}, "cell must be"),
    ],
)
def test_animate_rejects_bad_configurations(kwargs, message):
    with pytest.raises(ValueError, match=message):
        animate_conv(**kwargs)
