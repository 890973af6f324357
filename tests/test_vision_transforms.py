"""cf.vision.transforms and cf.vision.utils, held to torchvision's documented semantics.

Oracles: hand-computed values, PIL itself for PIL images (torchvision resizes, crops and
converts PIL images with PIL), torch's ``interpolate`` (torchvision's tensor resize) and
``F.pad`` for tensor images.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import convforge as cf
from convforge.vision import transforms as T
from convforge.vision import utils
from convforge.vision.transforms import InterpolationMode
from convforge.vision.transforms import functional as VF


@pytest.fixture
def rgb(rng) -> np.ndarray:
    return rng.integers(0, 256, size=(9, 14, 3), dtype=np.uint8)  # HWC


# ---- ToTensor, Normalize, ToPILImage --------------------------------------------------
def test_to_tensor_maps_hwc_uint8_to_chw_float32_in_0_1(rgb):
    for picture in (Image.fromarray(rgb), rgb):
        tensor = T.ToTensor()(picture)
        assert isinstance(tensor, cf.Tensor) and tensor.shape == (3, 9, 14) and tensor.dtype == np.float32
        np.testing.assert_allclose(tensor.array, rgb.transpose(2, 0, 1) / 255.0, rtol=1e-6)


def test_to_tensor_of_a_grey_image_has_one_channel_and_other_dtypes_are_not_scaled(rgb):
    grey = T.ToTensor()(Image.fromarray(rgb[:, :, 0]))
    assert grey.shape == (1, 9, 14)
    floats = T.ToTensor()(np.full((2, 2, 1), 3.5))
    assert floats.dtype == np.float64 and float(floats.array.max()) == 3.5
    bits = T.ToTensor()(Image.fromarray(rgb[:, :, 0] > 128))  # mode '1'
    np.testing.assert_array_equal(bits.array[0], (rgb[:, :, 0] > 128).astype(np.float32))
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray"):
        T.ToTensor()([1, 2])


def test_pil_to_tensor_keeps_uint8(rgb):
    tensor = T.PILToTensor()(Image.fromarray(rgb))
    assert tensor.dtype == np.uint8
    np.testing.assert_array_equal(tensor.array, rgb.transpose(2, 0, 1))


def test_normalize_subtracts_the_mean_and_divides_by_the_std_per_channel(rgb):
    tensor = T.ToTensor()(rgb)
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.5)
    result = T.Normalize(mean, std)(tensor)
    expected = (tensor.array - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    np.testing.assert_allclose(result.array, expected, rtol=1e-6, atol=1e-6)
    assert result.dtype == np.float32 and not np.shares_memory(result.array, tensor.array)
    batch = cf.tensor(np.stack([tensor.array] * 2))
    np.testing.assert_allclose(T.Normalize(mean, std)(batch).array[1], expected, rtol=1e-6, atol=1e-6)
    same = T.Normalize(mean, std, inplace=True)(tensor)
    assert same is tensor
    np.testing.assert_allclose(tensor.array, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("tensor", "std", "error", "match"),
    [
        (
            np.zeros((1, 2, 2), np.uint8),
            (1.0,),
            TypeError,
            "Input tensor should be a float tensor. Got uint8",
        ),
        (np.zeros((2, 2), np.float32), (1.0,), ValueError, "Expected tensor to be a tensor image of size"),
        (np.zeros((1, 2, 2), np.float32), (0.0,), ValueError, "std evaluated to zero"),
    ],
)
def test_normalize_rejects_what_torchvision_rejects(tensor, std, error, match):
    with pytest.raises(error, match=match):
        T.Normalize((0.0,), std)(cf.tensor(tensor))


def test_to_pil_image_round_trips_to_tensor(rgb):
    image = T.ToPILImage()(T.ToTensor()(rgb))
    assert image.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(image), rgb)
    assert T.ToPILImage()(cf.tensor(np.zeros((1, 3, 3), np.float32))).mode == "L"


# ---- Resize ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("size", "expected_hw"), [(6, (6, 9)), ([6], (6, 9)), ((5, 20), (5, 20)), (18, (18, 28)), (9, (9, 14))]
)
def test_resize_size_rule_matches_torchvision(rgb, size, expected_hw):
    """An int is the shorter side (the longer is int(size * long / short)); (h, w) is exact."""
    resized = T.Resize(size)(Image.fromarray(rgb))
    assert (resized.height, resized.width) == expected_hw
    assert T.Resize(size)(T.ToTensor()(rgb)).shape == (3, *expected_hw)


@pytest.mark.parametrize(
    "mode",
    [
        InterpolationMode.BILINEAR,
        InterpolationMode.NEAREST,
        InterpolationMode.BICUBIC,
        InterpolationMode.LANCZOS,
    ],
)
def test_resize_of_a_pil_image_is_pils_resize(rgb, mode):
    resample = {
        "bilinear": Image.BILINEAR,
        "nearest": Image.NEAREST,
        "bicubic": Image.BICUBIC,
        "lanczos": Image.LANCZOS,
    }
    image = Image.fromarray(rgb)
    ours = T.Resize((5, 23), interpolation=mode)(image)
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(image.resize((23, 5), resample[mode.value])))


def test_resize_takes_pil_constants_and_max_size(rgb):
    image = Image.fromarray(rgb)
    np.testing.assert_array_equal(
        np.asarray(T.Resize(4, interpolation=Image.NEAREST)(image)),
        np.asarray(image.resize((6, 4), Image.NEAREST)),
    )
    assert T.Resize(6, max_size=8)(image).size == (8, 5)
    with pytest.raises(ValueError, match="max_size = 6 must be strictly greater"):
        T.Resize(6, max_size=6)(image)


@pytest.mark.parametrize("out_hw", [(5, 7), (4, 20), (18, 28), (3, 3)])
@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_resize_of_a_float_tensor_matches_torchs_antialiased_interpolate(rng, out_hw, mode):
    torch = pytest.importorskip("torch")
    image = rng.random((2, 3, 9, 14), dtype=np.float32)
    ours = T.Resize(out_hw, interpolation=InterpolationMode(mode))(cf.tensor(image))
    theirs = torch.nn.functional.interpolate(
        torch.from_numpy(image), size=out_hw, mode=mode, antialias=True, align_corners=False
    )
    np.testing.assert_allclose(ours.array, theirs.numpy(), atol=2e-5)


@pytest.mark.parametrize(("mode", "torch_mode"), [("nearest", "nearest"), ("nearest-exact", "nearest-exact")])
@pytest.mark.parametrize("out_hw", [(4, 5), (20, 31)])
def test_nearest_resize_of_a_tensor_picks_torchs_pixels(rng, mode, torch_mode, out_hw):
    torch = pytest.importorskip("torch")
    image = rng.integers(0, 256, size=(3, 9, 14), dtype=np.uint8)
    ours = T.Resize(out_hw, interpolation=InterpolationMode(mode))(cf.tensor(image))
    theirs = torch.nn.functional.interpolate(
        torch.from_numpy(image)[None].float(), size=out_hw, mode=torch_mode
    )
    np.testing.assert_array_equal(ours.array, theirs[0].numpy().astype(np.uint8))


def test_resize_of_a_uint8_tensor_stays_uint8_and_is_close_to_pils(rgb):
    ours = T.Resize((5, 7))(T.PILToTensor()(Image.fromarray(rgb)))
    pil = np.asarray(Image.fromarray(rgb).resize((7, 5), Image.BILINEAR)).transpose(2, 0, 1)
    assert ours.dtype == np.uint8 and np.abs(ours.array.astype(int) - pil).max() <= 1


# ---- crops, flips, padding ------------------------------------------------------------
@pytest.mark.parametrize("size", [(4, 6), (5, 5), 3, (9, 14)])
def test_center_crop_takes_torchvisions_central_window(rgb, size):
    h, w = (size, size) if isinstance(size, int) else size
    top, left = int(round((9 - h) / 2.0)), int(round((14 - w) / 2.0))
    ours = T.CenterCrop(size)(T.PILToTensor()(Image.fromarray(rgb)))
    np.testing.assert_array_equal(ours.array, rgb[top : top + h, left : left + w].transpose(2, 0, 1))
    pil = T.CenterCrop(size)(Image.fromarray(rgb))
    np.testing.assert_array_equal(np.asarray(pil), rgb[top : top + h, left : left + w])


def test_center_crop_larger_than_the_image_pads_with_zeros(rgb):
    ours = T.CenterCrop((12, 15))(T.PILToTensor()(Image.fromarray(rgb))).array
    assert ours.shape == (3, 12, 15)
    np.testing.assert_array_equal(
        ours[:, 1:10, 0:14], rgb.transpose(2, 0, 1)
    )  # pads (l, t, r, b) = (0, 1, 1, 2)
    assert ours[:, 0].max() == 0 and ours[:, 10:].max() == 0 and ours[:, :, 14].max() == 0


def test_random_crop_is_a_window_of_the_padded_image_and_follows_manual_seed(rgb):
    tensor = T.PILToTensor()(Image.fromarray(rgb))
    padded = np.pad(rgb.transpose(2, 0, 1), ((0, 0), (2, 2), (2, 2)))
    crop = T.RandomCrop((6, 8), padding=2)
    cf.manual_seed(1)
    first = [crop(tensor).array for _ in range(5)]
    cf.manual_seed(1)
    again = [crop(tensor).array for _ in range(5)]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    windows = {(i, j): padded[:, i : i + 6, j : j + 8] for i in range(13 - 5) for j in range(18 - 7)}
    for a in first:
        assert any(np.array_equal(a, w) for w in windows.values())
    assert len({a.tobytes() for a in first}) > 1


def test_random_crop_checks_the_size_and_can_pad_if_needed(rgb):
    image = Image.fromarray(rgb)
    with pytest.raises(
        ValueError, match=r"Required crop size \(10, 20\) is larger than input image size \(9, 14\)"
    ):
        T.RandomCrop((10, 20))(image)
    assert T.RandomCrop((10, 20), pad_if_needed=True)(image).size == (20, 10)


def test_random_horizontal_flip_flips_with_probability_p(rgb):
    tensor = T.ToTensor()(rgb)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(tensor).array, tensor.array[..., ::-1])
    assert T.RandomHorizontalFlip(p=0.0)(tensor) is tensor
    pil = T.RandomHorizontalFlip(p=1.0)(Image.fromarray(rgb))
    np.testing.assert_array_equal(np.asarray(pil), rgb[:, ::-1])
    cf.manual_seed(0)
    flips = sum(T.RandomHorizontalFlip()(tensor) is not tensor for _ in range(400))
    assert 150 < flips < 250


@pytest.mark.parametrize(
    ("mode", "torch_mode"), [("constant", "constant"), ("edge", "replicate"), ("reflect", "reflect")]
)
@pytest.mark.parametrize("padding", [2, (1, 3), (1, 2, 3, 0)])
def test_pad_of_a_tensor_matches_torch_pad(rng, mode, torch_mode, padding):
    torch = pytest.importorskip("torch")
    image = rng.random((3, 5, 6), dtype=np.float32)
    left, top, right, bottom = (
        [padding] * 4 if isinstance(padding, int) else list(padding) * (4 // len(padding))
    )
    ours = T.Pad(padding, padding_mode=mode)(cf.tensor(image))
    theirs = torch.nn.functional.pad(
        torch.from_numpy(image)[None], [left, right, top, bottom], mode=torch_mode
    )[0]
    np.testing.assert_array_equal(ours.array, theirs.numpy())


def test_pad_symmetric_fill_and_pil_images(rgb):
    tensor = T.PILToTensor()(Image.fromarray(rgb))
    ours = T.Pad((1, 2), padding_mode="symmetric")(tensor).array
    np.testing.assert_array_equal(ours, np.pad(tensor.array, ((0, 0), (2, 2), (1, 1)), mode="symmetric"))
    pil = T.Pad(1, fill=(255, 0, 0))(Image.fromarray(rgb))
    assert pil.size == (16, 11) and pil.getpixel((0, 0)) == (255, 0, 0)
    np.testing.assert_array_equal(np.asarray(pil)[1:-1, 1:-1], rgb)
    with pytest.raises(
        ValueError, match="Padding must be an int or a 1, 2, or 4 element tuple, not a 3 element tuple"
    ):
        T.Pad((1, 2, 3))
    with pytest.raises(
        ValueError, match="Padding mode should be either constant, edge, reflect or symmetric"
    ):
        T.Pad(1, padding_mode="wrap")


def test_grayscale_is_pils_luma_for_pil_images_and_the_formula_for_tensors(rgb):
    image = Image.fromarray(rgb)
    np.testing.assert_array_equal(np.asarray(T.Grayscale()(image)), np.asarray(image.convert("L")))
    three = T.Grayscale(num_output_channels=3)(image)
    assert three.mode == "RGB" and np.array_equal(np.asarray(three)[..., 2], np.asarray(image.convert("L")))
    tensor = T.ToTensor()(rgb)
    r, g, b = tensor.array
    np.testing.assert_allclose(T.Grayscale()(tensor).array[0], 0.2989 * r + 0.587 * g + 0.114 * b, rtol=1e-6)
    assert T.Grayscale(3)(tensor).shape == (3, 9, 14)


def test_compose_applies_in_order_and_lambda_wraps_a_function(rgb):
    pipeline = T.Compose([T.ToTensor(), T.Lambda(lambda t: t * 2), T.CenterCrop(4)])
    result = pipeline(Image.fromarray(rgb))
    np.testing.assert_allclose(result.array, (rgb.transpose(2, 0, 1) / 255.0 * 2)[:, 2:6, 5:9], rtol=1e-6)
    assert "ToTensor()" in repr(pipeline) and "CenterCrop(size=(4, 4))" in repr(pipeline)
    with pytest.raises(TypeError, match="Argument lambd should be callable, got 'int'"):
        T.Lambda(3)


def test_transforms_refuse_what_is_not_an_image():
    with pytest.raises(TypeError, match="img should be PIL Image or Tensor"):
        T.CenterCrop(2)(np.zeros((3, 3)))


def test_random_transforms_in_loader_workers_are_reproducible():
    dataset = cf.vision.datasets.FakeData(
        size=12,
        image_size=(1, 8, 8),
        transform=T.Compose([T.RandomCrop(6), T.RandomHorizontalFlip(), T.ToTensor()]),
    )

    def run(workers):
        cf.manual_seed(3)
        loader = cf.utils.data.DataLoader(dataset, batch_size=4, num_workers=workers)
        return [b[0].array.tobytes() for b in loader]

    assert run(2) == run(2) and run(0) == run(0)


# ---- make_grid, save_image ------------------------------------------------------------
def test_make_grid_lays_images_out_row_by_row_with_padding(rng):
    batch = rng.random((5, 3, 4, 6), dtype=np.float32)
    grid = utils.make_grid(cf.tensor(batch), nrow=2, padding=1, pad_value=0.5).array
    assert grid.shape == (3, 3 * 5 + 1, 2 * 7 + 1)  # rows = ceil(5 / 2)
    np.testing.assert_array_equal(grid[:, 1:5, 8:14], batch[1])
    np.testing.assert_array_equal(grid[:, 11:15, 1:7], batch[4])
    assert np.all(grid[:, 0] == 0.5) and np.all(grid[:, 11:15, 8:14] == 0.5)


def test_make_grid_turns_grey_into_three_channels_and_normalizes(rng):
    batch = rng.random((4, 1, 3, 3)) * 10 - 5
    grid = utils.make_grid(cf.tensor(batch), nrow=4, padding=0, normalize=True).array
    assert grid.shape == (3, 3, 12) and grid.min() == 0.0 and grid.max() == 1.0
    np.testing.assert_allclose(grid[0, :, :3], (batch[0, 0] - batch.min()) / (batch.max() - batch.min()))
    each = utils.make_grid(list(cf.tensor(batch)), padding=0, normalize=True, scale_each=True).array
    assert all(each[0, :, 3 * k : 3 * k + 3].max() == 1.0 for k in range(4))
    single = utils.make_grid(cf.tensor(batch[:1]))
    assert single.shape == (3, 3, 3)


def test_save_image_writes_pixels_as_torchvision_rounds_them(tmp_path, rng):
    batch = rng.random((2, 3, 4, 5), dtype=np.float32)
    path = tmp_path / "grid.png"
    utils.save_image(cf.tensor(batch), path, nrow=2, padding=0)
    saved = np.asarray(Image.open(path))
    expected = np.clip(batch * 255 + 0.5, 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(saved[:, :5], expected[0].transpose(1, 2, 0))
    np.testing.assert_array_equal(saved[:, 5:], expected[1].transpose(1, 2, 0))


def test_functional_hflip_vflip_crop_on_batches(rng):
    batch = cf.tensor(rng.random((2, 3, 4, 5), dtype=np.float32))
    np.testing.assert_array_equal(VF.vflip(batch).array, batch.array[..., ::-1, :])
    np.testing.assert_array_equal(VF.crop(batch, 1, 2, 2, 3).array, batch.array[..., 1:3, 2:5])
    assert VF.get_dimensions(batch) == [3, 4, 5]


def test_random_resized_crop_gives_size_follows_the_seed_and_covers_the_image_at_scale_1(rgb):
    image = Image.fromarray(rgb)
    crop = T.RandomResizedCrop(8)
    cf.manual_seed(4)
    first = [np.asarray(crop(image)) for _ in range(4)]
    cf.manual_seed(4)
    assert all(np.array_equal(a, np.asarray(crop(image))) for a in first)
    assert all(a.shape == (8, 8, 3) for a in first)
    whole = T.RandomResizedCrop((5, 7), scale=(1.0, 1.0), ratio=(14 / 9, 14 / 9))(image)
    np.testing.assert_array_equal(np.asarray(whole), np.asarray(image.resize((7, 5), Image.BILINEAR)))


def test_random_resized_crop_falls_back_to_the_central_window_of_the_nearest_ratio(rgb):
    """No window of ratio 1/10 fits a 9x14 image: the central 9x1 window (9 * 1/10 rounds to 1)."""
    top, left, h, w = T.RandomResizedCrop.get_params(Image.fromarray(rgb), (0.9, 1.0), (0.1, 0.1))
    assert (top, left, h, w) == (0, 6, 9, 1)
    with pytest.raises(ValueError, match=r"Scale and ratio should be of kind \(min, max\)"):
        T.RandomResizedCrop(4, scale=(1.0, 0.5))
