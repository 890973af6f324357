"""Make the pictures and tables of docs/understanding.md with the `convforge` commands.

python examples/make_pictures.py [--out DIR]

Every picture is written by the same command line the documentation shows (run here
through ``convforge.cli.main``), so the docs cannot drift from what the tools draw. All
inputs are deterministic: a synthetic scene drawn from fixed shapes and a seeded noise, a
digit of the bundled test set, LeNet trained 2 epochs with seed 0.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from convforge.cli import DIGITS_SPLIT, main
from convforge.data import digits_split

FILTERS = ("gaussian:2", "sharpen", "sobel", "laplacian", "emboss")


def convforge(*argv: str) -> str:
    """Run one `convforge` command line; its standard output, or SystemExit on failure."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        status = main([str(a) for a in argv])
    if status != 0:
        raise SystemExit(f"convforge {' '.join(map(str, argv))} failed with status {status}")
    print("$ convforge", " ".join(map(str, argv)))
    print(buffer.getvalue().rstrip())
    return buffer.getvalue()


# --------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------
def scene(width: int = 240, height: int = 160, seed: int = 0, noise: float = 1.0) -> Image.Image:
    """A small landscape with a house: smooth gradients, straight and curved edges, fine
    texture (a fence, roof tiles) and a little sensor noise, so each filter has work."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    sky = np.stack([150 + 60 * y / height, 190 + 40 * y / height, np.full_like(y, 245)], axis=-1)
    pixels = sky.copy()
    sun = np.hypot(x - 0.8 * width, y - 0.22 * height)
    pixels[sun < 16] = (255, 226, 110)
    for base, amplitude, period, color in ((0.55, 10, 90, (96, 150, 80)), (0.68, 7, 60, (70, 125, 60))):
        ridge = height * base + amplitude * np.sin(2 * np.pi * x / period)
        shade = (y - ridge) / height
        hill = np.stack([color[0] - 60 * shade, color[1] - 60 * shade, color[2] - 40 * shade], axis=-1)
        pixels = np.where((y > ridge)[..., None], hill, pixels)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    house_left, house_top, house_right, ground = 40, 82, 120, 132
    draw.rectangle((house_left, house_top, house_right, ground), fill=(222, 200, 160), outline=(90, 70, 50))
    draw.polygon([(house_left - 8, house_top), (80, 50), (house_right + 8, house_top)], fill=(160, 60, 45))
    for row in range(56, house_top, 6):  # rows of roof tiles, inside the roof's triangle
        half = (row - 50) / (house_top - 50) * ((house_right - house_left) / 2 + 8)
        draw.line((80 - half + 1, row, 80 + half - 1, row), fill=(120, 40, 30))
    for left in (52, 92):  # two windows with crossbars
        draw.rectangle((left, 92, left + 16, 108), fill=(50, 80, 130), outline=(250, 250, 250), width=2)
        draw.line((left + 8, 92, left + 8, 108), fill=(250, 250, 250), width=2)
        draw.line((left, 100, left + 16, 100), fill=(250, 250, 250), width=2)
    draw.rectangle((74, 110, 86, ground), fill=(110, 70, 40))
    draw.rectangle((180, 96, 186, 140), fill=(100, 70, 40))  # a tree
    draw.ellipse((160, 62, 206, 104), fill=(40, 110, 50))
    for post in range(130, width, 8):  # a fence
        draw.rectangle((post, 126, post + 3, 150), fill=(245, 245, 240))
    draw.line((128, 132, width, 132), fill=(245, 245, 240), width=2)
    draw.line((128, 144, width, 144), fill=(245, 245, 240), width=2)
    noisy = np.asarray(image, np.float64) + np.random.default_rng(seed).normal(0, noise, (height, width, 3))
    return Image.fromarray(np.clip(np.rint(noisy), 0, 255).astype(np.uint8))


def test_digit(label: int = 3, size: int = 64) -> Image.Image:
    """The first test-set digit of ``label``, enlarged, dark ink on white like a scan."""
    _, _, test_x, test_y = digits_split(**DIGITS_SPLIT)
    digit = test_x[int(np.flatnonzero(test_y == label)[0]), 0]  # (8, 8) in 0..1, light ink
    pixels = np.rint(255 * (1 - digit / digit.max())).astype(np.uint8)
    return Image.fromarray(pixels).resize((size, size), Image.Resampling.NEAREST)


# --------------------------------------------------------------------------------------
# pictures
# --------------------------------------------------------------------------------------
def filter_panel(source: Path, outputs: list[tuple[str, Path]], path: Path, columns: int = 3) -> Path:
    """The original and each filtered image in one labelled grid."""
    from convforge.viz.animate import _font

    tiles = [("original", source), *outputs]
    images = [Image.open(p).convert("RGB") for _, p in tiles]
    width, height = images[0].size
    label, gap = 18, 8
    rows = -(-len(tiles) // columns)
    canvas = Image.new("RGB", (columns * (width + gap) + gap, rows * (height + label + gap) + gap), "white")
    draw, font = ImageDraw.Draw(canvas), _font(12)
    for index, ((name, _), image) in enumerate(zip(tiles, images)):
        left = gap + (index % columns) * (width + gap)
        top = gap + (index // columns) * (height + label + gap)
        draw.text((left, top), name, fill=(30, 30, 30), font=font)
        canvas.paste(image, (left, top + label))
    # 256 colors keep the file small; without dithering, the flat areas stay flat
    canvas.quantize(256, dither=Image.Dither.NONE).save(path, optimize=True)
    return path


def make(out: Path) -> None:
    images = out / "images"
    images.mkdir(parents=True, exist_ok=True)

    convforge(
        "animate", "--input", 5, "--kernel", 3, "--stride", 2, "--padding", 1, "-o", images / "conv_s2_p1.gif"
    )
    convforge("animate", "--input", 7, "--kernel", 3, "--dilation", 2, "-o", images / "conv_dilated.gif")
    convforge(
        "animate",
        "--input",
        3,
        "--kernel",
        3,
        "--stride",
        2,
        "--padding",
        1,
        "--transposed",
        "-o",
        images / "conv_transposed_s2.gif",
    )

    scene_path = images / "scene.png"
    scene().save(scene_path, optimize=True)
    with tempfile.TemporaryDirectory() as work:
        outputs = []
        for kernel in FILTERS:
            target = Path(work) / f"{kernel.replace(':', '')}.png"
            convforge("filter", scene_path, "--kernel", kernel, "-o", target)
            outputs.append((kernel, target))
        filter_panel(scene_path, outputs, images / "filters.png")
    convforge("filter", scene_path, "--kernel", "sobel", "--separable", "-o", images / "scene_sobel.png")

    digit_path = images / "digit3.png"
    test_digit().save(digit_path, optimize=True)
    with tempfile.TemporaryDirectory() as work:
        convforge("train", "--epochs", 2, "--seed", 0, "--no-progress", "--out", work)
        checkpoint = Path(work) / "model.safetensors"
        convforge("predict", checkpoint, digit_path)
        convforge("features", checkpoint, digit_path, "-o", images / "features_lenet.png")

    (out / "summary_lenet.txt").write_text(convforge("summary", "lenet", "--input", "1x1x28x28"))
    (out / "summary_resnet18.txt").write_text(convforge("summary", "resnet18", "--input", "1x3x224x224"))

    for path in sorted(images.iterdir()):
        print(f"{path}: {path.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs"), help="relative to the repository root")
    arguments = parser.parse_args()
    os.chdir(Path(__file__).resolve().parents[1])  # the commands printed read as in the docs
    make(arguments.out)
