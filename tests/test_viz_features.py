"""Feature maps and first-layer kernels as a picture: the pixels read back from the PNG."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import convforge as cf
from convforge import io, models
from convforge.cli import main
from convforge.viz import feature_maps, plot_features
from convforge.viz.features import colorize

VIRIDIS_MIN, VIRIDIS_MAX = (tuple(colorize(np.array([[v]]), "viridis", 0.0, 1.0)[0, 0]) for v in (0.0, 1.0))


def luminance(rgb) -> float:
    r, g, b = (float(v) for v in rgb)
    return 0.299 * r + 0.587 * g + 0.114 * b


def cell(pixels: np.ndarray, box: tuple[int, int, int], i: int, j: int) -> tuple[int, ...]:
    """The color of cell (i, j) of the tile at ``box``; every pixel of the cell must agree."""
    x0, y0, scale = box
    block = pixels[y0 + i * scale : y0 + (i + 1) * scale, x0 + j * scale : x0 + (j + 1) * scale]
    colors = {tuple(int(v) for v in p) for p in block.reshape(-1, 3)}
    assert len(colors) == 1, f"cell ({i}, {j}) is not one solid color: {sorted(colors)[:4]}"
    return colors.pop()


def tile_colors(pixels, box, shape) -> list[list[tuple[int, ...]]]:
    return [[cell(pixels, box, i, j) for j in range(shape[1])] for i in range(shape[0])]


def step_image(height: int = 12, width: int = 12, edge: int = 6) -> np.ndarray:
    """(1, H, W): 0 left of column ``edge``, 1 from it on."""
    image = np.zeros((1, height, width), np.float32)
    image[:, :, edge:] = 1.0
    return image


def edge_detector() -> cf.nn.Module:
    """One conv layer with two 1x2 kernels: [[-1, 1]] (rising edges) and [[1, -1]]."""
    conv = cf.nn.Conv2d(1, 2, (1, 2), bias=False)
    conv.weight.array[...] = np.array([[[[-1.0, 1.0]]], [[[1.0, -1.0]]]], np.float32)
    return cf.nn.Sequential(conv)


# ---- feature_maps ----------------------------------------------------------------------
def test_feature_maps_are_the_outputs_of_every_conv_layer(rng):
    model = models.LeNet5(input_size=16)
    image = rng.standard_normal((1, 16, 16)).astype(np.float32)
    maps = feature_maps(model, image)
    assert [(name, m.shape) for name, m in maps] == [("features.0", (6, 16, 16)), ("features.3", (16, 8, 8))]
    conv = model.features[0]
    expected = cf.nn.functional.conv2d(image[None], conv.weight, conv.bias, padding=2).array[0]
    np.testing.assert_allclose(maps[0][1], expected, rtol=1e-5, atol=1e-6)
    assert model.training  # the mode is restored


def test_feature_maps_rejects_a_batch_and_a_non_module():
    with pytest.raises(ValueError, match=r"feature_maps: image must be one sample \(C, H, W\)"):
        feature_maps(edge_detector(), np.zeros((2, 1, 4, 4)))
    with pytest.raises(TypeError, match="feature_maps: model must be a convforge.nn.Module"):
        feature_maps(np.zeros(3), np.zeros((1, 4, 4)))


# ---- plot_features -----------------------------------------------------------------------
@pytest.fixture
def edge_figure(tmp_path):
    model = edge_detector()
    image = step_image()
    maps = feature_maps(model, image)
    figure = plot_features(image, model[0].weight.array, maps, tmp_path / "f.png")
    pixels = np.asarray(Image.open(tmp_path / "f.png").convert("RGB"))
    return figure, pixels, maps


def test_the_png_is_the_figure(edge_figure):
    figure, pixels, _ = edge_figure
    np.testing.assert_array_equal(pixels, np.asarray(figure.image))


def test_an_edge_kernel_lights_up_exactly_at_the_edge(edge_figure):
    figure, pixels, maps = edge_figure
    assert maps[0][1].shape == (2, 12, 11)
    rising = tile_colors(pixels, figure.boxes[(1, 0)], (12, 11))
    falling = tile_colors(pixels, figure.boxes[(1, 1)], (12, 11))
    for row_rising, row_falling in zip(rising, falling):
        # output column 5 reads input columns 5 and 6: the only place the step is seen
        assert row_rising[5] == VIRIDIS_MAX and row_falling[5] == VIRIDIS_MIN
        others = [j for j in range(11) if j != 5]
        assert all(row_rising[j] == VIRIDIS_MIN for j in others)
        assert all(row_falling[j] == VIRIDIS_MAX for j in others)
    assert luminance(VIRIDIS_MAX) > luminance(VIRIDIS_MIN) + 100


def test_one_tile_per_channel_and_per_kernel(edge_figure):
    figure, _, _ = edge_figure
    assert sorted(figure.boxes) == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]  # input + 2 kernels; 2 maps
    assert figure.labels[1].startswith("0: 2 maps of 12x11")


def test_kernel_tiles_show_the_sign_of_the_weights(edge_figure):
    figure, pixels, _ = edge_figure
    ((negative, positive),) = tile_colors(pixels, figure.boxes[(0, 1)], (1, 2))  # kernel [[-1, 1]]
    assert negative[2] > negative[0] + 50 and negative[2] > negative[1]  # blue
    assert positive[0] > positive[2] + 50 and positive[0] > positive[1]  # red
    ((first, second),) = tile_colors(pixels, figure.boxes[(0, 2)], (1, 2))  # kernel [[1, -1]]
    assert (first, second) == (positive, negative)


def test_a_zero_weight_is_white_between_red_and_blue():
    weight = np.array([[[[-2.0, 0.0, 2.0]]]])
    figure = plot_features(np.zeros((1, 4, 4)), weight, [])
    pixels = np.asarray(figure.image)
    ((blue, white, red),) = tile_colors(pixels, figure.boxes[(0, 1)], (1, 3))
    assert min(white) > 240 and blue[2] > blue[0] and red[0] > red[2]


def test_max_maps_limits_the_tiles_and_says_so(rng):
    maps = [("conv", rng.standard_normal((6, 5, 5)))]
    figure = plot_features(rng.standard_normal((1, 5, 5)), None, maps, max_maps=3)
    assert [key for key in figure.boxes if key[0] == 1] == [(1, 0), (1, 1), (1, 2)]
    assert "6 maps of 5x5, first 3 of 6" in figure.labels[1]


def test_input_tile_is_the_image_in_gray(edge_figure):
    figure, pixels, _ = edge_figure
    row = tile_colors(pixels, figure.boxes[(0, 0)], (12, 12))[0]
    assert row[:6] == [(0, 0, 0)] * 6 and row[6:] == [(255, 255, 255)] * 6


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_maps": 0}, "plot_features: max_maps must be a positive int, but got max_maps=0"),
        ({"image": np.zeros((4, 4))}, r"plot_features: image must be \(C, H, W\)"),
        ({"kernels": np.zeros((2, 3, 3))}, r"plot_features: kernels must be \(C_out, C_in, kH, kW\)"),
    ],
)
def test_plot_features_rejects_bad_arguments(kwargs, message):
    arguments = {"image": np.zeros((1, 4, 4)), "kernels": None, "maps": []} | kwargs
    with pytest.raises(ValueError, match=message):
        plot_features(**arguments)


# ---- convforge features on a checkpoint ----------------------------------------------------
@pytest.fixture
def edge_lenet(tmp_path):
    """A LeNet checkpoint as 'convforge train' writes it, first kernel = rising-edge detector."""
    model = models.LeNet5(num_classes=10, in_channels=1, input_size=16)
    conv = model.features[0]
    conv.weight.array[...] = 0.0
    conv.weight.array[0, 0, 2, 2:4] = (-1.0, 1.0)  # output (i, j) = x[i, j + 1] - x[i, j]
    conv.bias.array[...] = 0.0
    metadata = {"model": "lenet", "in_channels": 1, "input_size": 16, "num_classes": 10}
    metadata |= {"mean": 0.0, "std": 1.0, "upscale": 1}
    path = io.save_checkpoint(tmp_path / "model.npz", model, metadata=metadata)
    pixels = np.zeros((16, 16), np.uint8)
    pixels[:, 8:] = 255
    Image.fromarray(pixels).save(tmp_path / "step.png")
    return path, tmp_path / "step.png"


def test_features_command_draws_the_edge_where_the_image_has_it(edge_lenet, tmp_path, capsys):
    checkpoint, image = edge_lenet
    out = tmp_path / "features.png"
    assert main(["features", str(checkpoint), str(image), "--invert", "no", "-o", str(out)]) == 0
    assert f"-> {out}" in capsys.readouterr().out
    pixels = np.asarray(Image.open(out).convert("RGB"))
    model = models.LeNet5(input_size=16)
    io.load_checkpoint(checkpoint, model)
    maps = feature_maps(model, step_image(16, 16, 8))
    figure = plot_features(step_image(16, 16, 8), model.features[0].weight.array, maps, title="x")
    assert sorted(k for k in figure.boxes if k[0] == 1) == [(1, c) for c in range(6)]
    assert sorted(k for k in figure.boxes if k[0] == 2) == [(2, c) for c in range(16)]
    assert pixels.shape[:2] == (figure.image.height, figure.image.width)
    tile = tile_colors(pixels, figure.boxes[(1, 0)], (16, 16))
    brightness = np.array([[luminance(c) for c in row] for row in tile])
    # rising edge between columns 7 and 8: the brightest column, the same in every row;
    # the zero padding after column 15 is a falling edge: the darkest
    assert all(row[7] == VIRIDIS_MAX and row[15] == VIRIDIS_MIN for row in tile)
    assert np.all(brightness[:, 7:8] > np.delete(brightness, 7, axis=1))
    # the other five kernels are zero: flat maps, shown in one color
    assert len({c for row in tile_colors(pixels, figure.boxes[(1, 1)], (16, 16)) for c in row}) == 1
