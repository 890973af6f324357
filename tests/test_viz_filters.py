"""Classic image filters: edges where the step is, blurs that keep brightness, separable
forms that agree with the full kernels, real PNG/JPEG files in and out."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage
from PIL import Image

from convforge.viz.filters import (
    KERNELS,
    box_kernel,
    filter_image,
    gaussian_kernel,
    image_filter,
    read_image,
    separate,
    to_uint8,
    write_image,
)

SCIPY_MODES = {"zeros": "constant", "reflect": "mirror", "replicate": "nearest", "circular": "wrap"}


def step_image(height: int = 12, width: int = 16, column: int = 8) -> np.ndarray:
    """Black left part, white from ``column`` on: one vertical edge."""
    image = np.zeros((height, width))
    image[:, column:] = 255.0
    return image


def test_sobel_x_finds_the_vertical_step_and_nothing_else():
    response = filter_image(step_image(), image_filter("sobel-x"))
    edge_columns = np.flatnonzero(np.abs(response).max(axis=0))
    assert edge_columns.tolist() == [7, 8]  # the two columns on either side of the step
    assert np.all(response[:, 7:9] == 4 * 255)  # 1 + 2 + 1 rows of +255
    pixels = to_uint8(response, "abs")
    assert np.all(pixels[:, 7:9] == 255) and np.all(np.delete(pixels, [7, 8], axis=1) == 0)


def test_sobel_y_does_not_see_a_vertical_step_but_sees_a_horizontal_one():
    assert np.all(filter_image(step_image(), image_filter("sobel-y")) == 0)
    transposed = filter_image(step_image().T.copy(), image_filter("sobel-y"))
    assert np.flatnonzero(np.abs(transposed).max(axis=1)).tolist() == [7, 8]


def test_sobel_magnitude_is_the_hypotenuse_of_both_gradients(rng):
    image = rng.uniform(0, 255, (10, 9))
    gx = filter_image(image, image_filter("sobel-x"))
    gy = filter_image(image, image_filter("sobel-y"))
    np.testing.assert_allclose(filter_image(image, image_filter("sobel")), np.hypot(gx, gy))


def test_gaussian_and_box_kernels_sum_to_one_and_keep_a_flat_image_flat():
    for kernel in (gaussian_kernel(0.8), gaussian_kernel(2.5), box_kernel(4)):
        assert kernel.sum() == pytest.approx(1.0)
        flat = np.full((20, 20), 100.0)
        np.testing.assert_allclose(filter_image(flat, kernel), flat)
    g = gaussian_kernel(2.0)
    assert g.shape == (13, 13) and np.allclose(g, g.T) and g.argmax() == 13 * 6 + 6


@pytest.mark.parametrize("name", ["sobel-x", "sharpen", "laplacian", "emboss", "gaussian:1.2", "box:3"])
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_filter_matches_scipy_correlate(name, mode, rng):
    image = rng.uniform(0, 255, (11, 13))
    (kernel,) = image_filter(name).kernels
    expected = scipy.ndimage.correlate(image, kernel, mode=SCIPY_MODES[mode])
    np.testing.assert_allclose(filter_image(image, kernel, mode), expected, atol=1e-9)


@pytest.mark.parametrize("name", ["sobel", "prewitt", "gaussian:1.5", "box:4", "sobel-y"])
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_separable_and_full_forms_agree(name, mode, rng):
    image = rng.uniform(0, 255, (17, 15, 3))
    flt = image_filter(name)
    full = filter_image(image, flt, mode)
    np.testing.assert_allclose(filter_image(image, flt, mode, separable=True), full, atol=1e-9)


def test_separate_factors_sobel_as_the_tutorial_writes_it():
    column, row = separate(KERNELS["sobel-x"][0])
    assert column.tolist() == [1, 2, 1] and row.tolist() == [-1, 0, 1]
    column, row = separate(KERNELS["sobel-y"][0])
    assert column.tolist() == [-1, 0, 1] and row.tolist() == [1, 2, 1]


@pytest.mark.parametrize("name", ["laplacian", "sharpen", "emboss"])
def test_separate_says_why_a_kernel_is_not_separable(name):
    with pytest.raises(ValueError, match=r"not separable: it has rank [23], not 1 \(singular values"):
        separate(KERNELS[name][0])
    with pytest.raises(ValueError, match="not separable"):
        filter_image(np.zeros((5, 5)), image_filter(name), separable=True)


def test_color_images_are_filtered_per_channel(rng):
    image = rng.uniform(0, 255, (9, 8, 3))
    flt = image_filter("sharpen")
    out = filter_image(image, flt)
    for c in range(3):
        np.testing.assert_allclose(out[..., c], filter_image(image[..., c], flt))


def test_to_uint8_scales():
    y = np.array([[-510.0, 0.0, 255.0, 300.0]])
    assert to_uint8(y, "clip").tolist() == [[0, 0, 255, 255]]
    assert to_uint8(y, "abs").tolist() == [[255, 0, 128, 150]]
    assert to_uint8(y, "minmax").tolist() == [[0, 161, 241, 255]]  # (y + 510) / 810 * 255
    assert to_uint8(np.zeros((2, 2)), "abs").tolist() == [[0, 0], [0, 0]]


def test_images_round_trip_through_png_and_jpeg(tmp_path, rng):
    gray = rng.integers(0, 256, (6, 7)).astype(np.uint8)
    color = rng.integers(0, 256, (6, 7, 3)).astype(np.uint8)
    write_image(tmp_path / "g.png", gray)
    write_image(tmp_path / "c.png", color)
    np.testing.assert_array_equal(read_image(tmp_path / "g.png"), gray)
    np.testing.assert_array_equal(read_image(tmp_path / "c.png"), color)
    Image.fromarray(color).convert("RGBA").save(tmp_path / "a.png")
    assert read_image(tmp_path / "a.png").shape == (6, 7, 3)
    Image.fromarray(np.full((8, 8), 200, np.uint8)).save(tmp_path / "g.jpg")
    assert read_image(tmp_path / "g.jpg").shape == (8, 8)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("blur", "unknown kernel 'blur'"),
        ("gaussian:abc", "gaussian needs a positive number"),
        ("gaussian:-1", "sigma must be a positive number"),
        ("box:0", "size must be a positive int"),
        ("missing.npy", "does not exist"),
    ],
)
def test_bad_kernel_names_say_what_is_allowed(spec, message):
    with pytest.raises(ValueError, match=message):
        image_filter(spec)


def test_npy_kernels_must_be_2d(tmp_path):
    np.save(tmp_path / "k3.npy", np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="non-empty 2-D numeric array"):
        image_filter(str(tmp_path / "k3.npy"))
    np.save(tmp_path / "k.npy", np.array([[1.0, -1.0]]))
    assert image_filter(str(tmp_path / "k.npy")).kernels[0].tolist() == [[1.0, -1.0]]
