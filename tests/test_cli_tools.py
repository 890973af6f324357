"""The understanding subcommands: --help, a good call, a bad call with a one-line error."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from convforge import io, models
from convforge.cli import main
from convforge.viz.animate import COLORS


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exit_:  # argparse: --help and usage errors
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, command: str, fragment: str) -> None:
    assert code != 0
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[-1].startswith(f"convforge {command}: error:")
    assert fragment in lines[-1]
    if code == 1:  # a runtime error: nothing but that line
        assert len(lines) == 1


UNDERSTANDING = ["shape", "explain", "animate", "filter", "summary", "features"]


def test_top_level_help_lists_the_understanding_commands(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and out.startswith("usage: convforge")
    assert all(command in out for command in UNDERSTANDING)


@pytest.mark.parametrize("command", UNDERSTANDING)
def test_help(command, capsys):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0 and f"usage: convforge {command}" in out


# ---- shape --------------------------------------------------------------------------
def test_shape_prints_the_output_shape_and_the_formula(capsys):
    code, out, _ = run(
        capsys,
        "shape",
        "--input",
        "1x3x32x32",
        "--kernel",
        "3",
        "--stride",
        "2",
        "--padding",
        "same",
        "--dilation",
        "2",
    )
    assert code == 0
    assert out.splitlines()[0] == "conv2d: input (1, 3, 32, 32) -> output (1, 3, 16, 16)"
    assert "floor((32 + 1 + 2 - 2·(3-1) - 1) / 2) + 1 = floor(30 / 2) + 1 = 16" in out


def test_shape_of_transposed_and_pool(capsys):
    code, out, _ = run(capsys, "shape", "--input", "1x1x2x2", "--kernel", "3", "--transposed")
    assert code == 0 and "-> output (1, 1, 4, 4)" in out
    code, out, _ = run(
        capsys,
        "shape",
        "--input",
        "1x3x5x5",
        "--kernel",
        "2",
        "--padding",
        "1",
        "--pool",
        "max",
        "--ceil-mode",
    )
    assert code == 0 and "max_pool2d: input (1, 3, 5, 5) -> output (1, 3, 3, 3)" in out


def test_shape_of_an_impossible_configuration_says_why(capsys):
    code, _, err = run(capsys, "shape", "--input", "1x3x4x4", "--kernel", "7")
    assert code == 1
    assert_one_line_error(code, err, "shape", "kernel size can't be greater than the padded input size")


def test_shape_rejects_a_malformed_size(capsys):
    code, _, err = run(capsys, "shape", "--input", "1x3x4x4", "--kernel", "three")
    assert code == 2
    assert_one_line_error(code, err, "shape", "integers joined by 'x'")


# ---- explain ------------------------------------------------------------------------
def test_explain_defaults_to_the_d2l_example(capsys):
    code, out, _ = run(capsys, "explain")
    assert code == 0
    assert "= 0×0 + 1×1 + 3×2 + 4×3" in out and out.strip().endswith("= 19")


def test_explain_with_padding_stride_and_a_named_kernel(capsys):
    code, out, _ = run(
        capsys,
        "explain",
        "--input",
        "1 2 3 4; 5 6 7 8; 9 10 11 12",
        "--kernel",
        "sobel-x",
        "--padding",
        "1",
        "--stride",
        "2",
        "--at",
        "1,1",
    )
    assert code == 0
    # window rows 2..4, cols 2..4 of the padded input: x[1..2, 1..3] plus the bottom padding row
    assert "= 6×(-1) + 7×0 + 8×1 + 10×(-2) + 11×0 + 12×2 + 0×(-1) + 0×0 + 0×1" in out
    assert out.strip().endswith("= 6")


def test_explain_rejects_an_index_outside_the_output(capsys):
    code, _, err = run(capsys, "explain", "--at", "5,5")
    assert_one_line_error(code, err, "explain", "index must address a cell of the output of shape (2, 2)")


def test_explain_rejects_ragged_rows(capsys):
    code, _, err = run(capsys, "explain", "--input", "1 2; 3")
    assert_one_line_error(code, err, "explain", "rows must all have the same length")


# ---- animate ------------------------------------------------------------------------
def test_animate_writes_a_gif_and_png_frames(tmp_path, capsys):
    gif = tmp_path / "conv.gif"
    code, out, _ = run(
        capsys,
        "animate",
        "--input",
        "5",
        "--kernel",
        "3",
        "--stride",
        "2",
        "--padding",
        "1",
        "--frames",
        str(tmp_path / "frames"),
        "-o",
        str(gif),
    )
    assert code == 0 and "9 frames (3x3 outputs)" in out
    with Image.open(gif) as image:
        assert image.n_frames == 9
        first = np.asarray(image.convert("RGB"))
    assert len(list((tmp_path / "frames").glob("frame_*.png"))) == 9
    colors = {tuple(int(v) for v in p) for p in first.reshape(-1, 3)}
    assert {COLORS["window"], COLORS["window_pad"], COLORS["input"], COLORS["current"]} <= colors


def test_animate_transposed(tmp_path, capsys):
    code, out, _ = run(
        capsys, "animate", "--input", "2", "--kernel", "3", "--transposed", "-o", str(tmp_path / "t.gif")
    )
    assert code == 0 and "16 frames (4x4 outputs)" in out


def test_animate_rejects_a_kernel_larger_than_the_input(tmp_path, capsys):
    code, _, err = run(capsys, "animate", "--input", "2", "--kernel", "5", "-o", str(tmp_path / "x.gif"))
    assert_one_line_error(code, err, "animate", "kernel size can't be greater")
    assert not (tmp_path / "x.gif").exists()


# ---- filter -------------------------------------------------------------------------
@pytest.fixture
def step_png(tmp_path):
    """A real PNG: a 24x32 gray image, black left, white from column 16."""
    pixels = np.zeros((24, 32), np.uint8)
    pixels[:, 16:] = 255
    path = tmp_path / "step.png"
    Image.fromarray(pixels).save(path)
    return path


def test_filter_finds_the_edge_of_a_step_image(step_png, tmp_path, capsys):
    out_path = tmp_path / "edges.png"
    code, out, _ = run(capsys, "filter", str(step_png), "--kernel", "sobel-x", "-o", str(out_path))
    assert code == 0 and "scaled by abs" in out
    edges = np.asarray(Image.open(out_path))
    assert edges.shape == (24, 32) and edges.dtype == np.uint8
    assert np.all(edges[:, 15:17] == 255) and np.all(np.delete(edges, [15, 16], axis=1) == 0)


def test_filter_separable_says_so_and_matches_the_full_kernel(tmp_path, capsys, rng):
    color = rng.integers(0, 256, (20, 18, 3)).astype(np.uint8)
    Image.fromarray(color).save(tmp_path / "c.png")
    code, out, _ = run(
        capsys,
        "filter",
        str(tmp_path / "c.png"),
        "--kernel",
        "sobel",
        "--separable",
        "-o",
        str(tmp_path / "s.png"),
    )
    assert code == 0
    assert "separable: [1, 2, 1]ᵀ · [-1, 0, 1]: 3 + 3 instead of 9 multiplies per pixel" in out
    run(capsys, "filter", str(tmp_path / "c.png"), "--kernel", "sobel", "-o", str(tmp_path / "f.png"))
    separable, full = (np.asarray(Image.open(tmp_path / n)).astype(int) for n in ("s.png", "f.png"))
    assert separable.shape == (20, 18, 3) and np.abs(separable - full).max() <= 1


def test_filter_blur_of_a_jpeg(tmp_path, capsys):
    Image.fromarray(np.full((16, 16, 3), 120, np.uint8)).save(tmp_path / "flat.jpg")
    code, _, _ = run(
        capsys,
        "filter",
        str(tmp_path / "flat.jpg"),
        "--kernel",
        "gaussian:1.5",
        "-o",
        str(tmp_path / "b.png"),
    )
    assert code == 0
    blurred = np.asarray(Image.open(tmp_path / "b.png")).astype(int)
    assert np.abs(blurred - 120).max() <= 2  # a blur keeps a flat image flat (JPEG round-off)


def test_filter_refuses_to_separate_a_laplacian(step_png, tmp_path, capsys):
    code, _, err = run(
        capsys, "filter", str(step_png), "--kernel", "laplacian", "--separable", "-o", str(tmp_path / "x.png")
    )
    assert_one_line_error(code, err, "filter", "not separable: it has rank 2")


def test_filter_reports_a_missing_image(tmp_path, capsys):
    code, _, err = run(
        capsys, "filter", str(tmp_path / "none.png"), "--kernel", "box:3", "-o", str(tmp_path / "x.png")
    )
    assert_one_line_error(code, err, "filter", "does not exist")


# ---- summary ------------------------------------------------------------------------
def test_summary_of_lenet(capsys):
    code, out, _ = run(capsys, "summary", "lenet", "--input", "1x1x28x28")
    assert code == 0
    assert out.splitlines()[0] == "LeNet5 on a 1x28x28 input"
    assert "features.5" in out and "size 16, jump 4, start 5.5" in out
    assert "total: 61,706 parameters (61,706 trainable), 416,520 MACs" in out


def test_summary_takes_a_sample_shape_and_the_number_of_classes(capsys):
    code, out, _ = run(capsys, "summary", "resnet", "--input", "3x16x16", "--num-classes", "4")
    assert code == 0 and "ResNet on a 3x16x16 input" in out
    fc = next(line.split() for line in out.splitlines() if line.startswith("fc "))
    assert fc[:4] == ["fc", "Linear", "4", f"{64 * 4 + 4:,}"]


def test_summary_rejects_an_unknown_model(capsys):
    code, _, err = run(capsys, "summary", "vgg16")
    assert code == 2
    assert_one_line_error(code, err, "summary", "invalid choice: 'vgg16'")


@pytest.mark.parametrize(
    ("shape", "status", "fragment"),
    [
        ("1x1x28xbig", 2, "integers joined by 'x'"),
        ("4x1x28x28", 1, "the summary counts one sample, so N must be 1, but got N=4"),
        ("28x28", 1, "--input must be CxHxW or 1xCxHxW of positive sizes, but got 28x28"),
        ("1x28x20", 1, "lenet needs a square image, but got 28x20"),
        ("1x3x3", 1, "LeNet5: input_size must be at least 4"),
    ],
)
def test_summary_rejects_a_bad_input(shape, status, fragment, capsys):
    code, _, err = run(capsys, "summary", "lenet", "--input", shape)
    assert code == status
    assert_one_line_error(code, err, "summary", fragment)


# ---- features -----------------------------------------------------------------------
@pytest.fixture
def lenet_checkpoint(tmp_path):
    """A LeNet saved with the metadata 'convforge train' writes, and a digit-like PNG."""
    model = models.LeNet5(num_classes=10, in_channels=1, input_size=16)
    metadata = {"model": "lenet", "in_channels": 1, "input_size": 16, "num_classes": 10}
    metadata |= {"mean": 0.3, "std": 0.4, "upscale": 2}
    checkpoint = io.save_checkpoint(tmp_path / "model.npz", model, metadata=metadata)
    pixels = np.full((40, 40), 255, np.uint8)
    pixels[8:32, 18:22] = 0  # a dark "1" on white: inverted like predict does
    Image.fromarray(pixels).save(tmp_path / "one.png")
    return checkpoint, tmp_path / "one.png"


def test_features_writes_a_grid_png(lenet_checkpoint, tmp_path, capsys):
    checkpoint, image = lenet_checkpoint
    out = tmp_path / "grid.png"
    code, stdout, _ = run(capsys, "features", str(checkpoint), str(image), "--max-maps", "4", "-o", str(out))
    assert code == 0
    assert "lenet predicts" in stdout and "features.0 6x16x16, features.3 16x8x8" in stdout
    with Image.open(out) as picture:
        assert picture.format == "PNG" and picture.width > 200 and picture.height > 150
        colors = np.asarray(picture.convert("RGB")).reshape(-1, 3)
    assert len(np.unique(colors, axis=0)) > 20  # maps and kernels, not a blank canvas


def test_features_reports_a_missing_checkpoint(tmp_path, capsys):
    code, _, err = run(capsys, "features", str(tmp_path / "none.npz"), str(tmp_path / "x.png"))
    assert code == 1
    assert_one_line_error(code, err, "features", "does not exist")


def test_features_reports_a_checkpoint_not_written_by_train(tmp_path, capsys):
    io.save_checkpoint(tmp_path / "bare.npz", models.LeNet5(input_size=16))
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(tmp_path / "x.png")
    code, _, err = run(capsys, "features", str(tmp_path / "bare.npz"), str(tmp_path / "x.png"))
    assert_one_line_error(code, err, "features", "was not written by 'convforge train'")


def test_features_reports_an_unreadable_image(lenet_checkpoint, tmp_path, capsys):
    checkpoint, _ = lenet_checkpoint
    (tmp_path / "notes.png").write_text("not an image")
    code, _, err = run(capsys, "features", str(checkpoint), str(tmp_path / "notes.png"))
    assert_one_line_error(code, err, "features", "could not be read as PNG/JPEG")
