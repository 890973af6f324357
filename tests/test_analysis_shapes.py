"""The shape calculator agrees with the operations and explains itself; receptive fields."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from convforge.analysis import ReceptiveField, conv_output_shape, pool_output_shape, receptive_fields


@pytest.mark.parametrize(
    ("shape", "kernel", "stride", "padding", "dilation"),
    [
        ((1, 3, 32, 32), 3, 2, 1, 1),
        ((2, 3, 32, 31), (3, 5), (2, 1), (1, 2), (2, 1)),
        ((1, 1, 28), 5, 1, 2, 1),
        ((1, 2, 6, 7, 8), 3, 2, 0, 1),
    ],
)
def test_conv_output_shape_matches_torch(shape, kernel, stride, padding, dilation):
    n = len(shape) - 2
    conv = getattr(torch.nn, f"Conv{n}d")(shape[1], 4, kernel, stride, padding, dilation)
    report = conv_output_shape(shape, kernel, 4, stride, padding, dilation)
    assert report.output_shape == tuple(conv(torch.zeros(shape)).shape)


def test_same_padding_at_stride_two_substitutes_the_numbers():
    report = conv_output_shape((1, 3, 32, 32), 3, stride=2, padding="same", dilation=2)
    assert report.output_shape == (1, 3, 16, 16)
    text = str(report)
    assert "H_out = floor((32 + 1 + 2 - 2·(3-1) - 1) / 2) + 1 = floor(30 / 2) + 1 = 16" in text
    assert "ceil(32 / 2) = 16 -> pads 1 before, 2 after" in text


def test_transposed_shape_of_the_seed_example_is_4x4():
    """2x2 input, 3x3 kernel, stride 1: the transposed convolution gives 4x4."""
    report = conv_output_shape((1, 1, 2, 2), 3, transposed=True)
    assert report.output_shape == (1, 1, 4, 4)
    assert "H_out = (2 - 1)·1 - 0 - 0 + 1·(3-1) + 0 + 1 = 4" in str(report)


@pytest.mark.parametrize(("stride", "padding", "output_padding", "dilation"), [(2, 1, 1, 1), (3, 0, 2, 2)])
def test_transposed_output_shape_matches_torch(stride, padding, output_padding, dilation):
    layer = torch.nn.ConvTranspose2d(4, 6, 3, stride, padding, output_padding, dilation=dilation)
    report = conv_output_shape((1, 4, 5, 6), 3, 6, stride, padding, dilation, 1, True, output_padding)
    assert report.output_shape == tuple(layer(torch.zeros(1, 4, 5, 6)).shape)


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "ceil_mode"),
    [(5, 2, 2, 1, True), (6, 3, 2, 1, True), (7, 3, 2, 0, False), (8, 2, None, 0, True)],
)
def test_pool_output_shape_matches_torch(size, kernel, stride, padding, ceil_mode):
    pool = torch.nn.MaxPool2d(kernel, stride, padding, ceil_mode=ceil_mode)
    report = pool_output_shape((1, 2, size, size), kernel, stride, padding, ceil_mode=ceil_mode)
    assert report.output_shape == tuple(pool(torch.zeros(1, 2, size, size)).shape)


def test_pool_ceil_mode_says_when_the_last_window_is_dropped():
    report = pool_output_shape((1, 3, 5, 5), 2, padding=1, ceil_mode=True)
    assert report.output_shape == (1, 3, 3, 3)
    assert "= 4, less 1 = 3" in str(report)
    assert "starts in the right padding" in str(report) or "start in the right padding" in str(report)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"input_shape": (1, 3, 4, 4), "kernel_size": 7},
            "kernel size can't be greater than the padded input",
        ),
        (
            {"input_shape": (1, 3, 8, 8), "kernel_size": 3, "out_channels": 4, "groups": 2},
            "groups must divide",
        ),
        ({"input_shape": (1, 3, 8, 8), "kernel_size": 3, "stride": 0}, "stride must be positive"),
        ({"input_shape": (3, 8, 8, 1, 1, 1), "kernel_size": 3}, "input_shape must be"),
        (
            {
                "input_shape": (1, 3, 8, 8),
                "kernel_size": 3,
                "transposed": True,
                "stride": 2,
                "output_padding": 2,
            },
            "output_padding must be smaller",
        ),
    ],
)
def test_impossible_configurations_say_why(kwargs, message):
    with pytest.raises(ValueError, match=message):
        conv_output_shape(**kwargs)


def test_stacked_3x3_convolutions_see_like_one_large_kernel():
    """Two 3x3 layers see 5x5, three see 7x7 (the reason VGG stacks small kernels)."""
    sizes = [rf.size for rf in receptive_fields([(3, 1, 1, 1)] * 3)]
    assert sizes == [(3, 3), (5, 5), (7, 7)]


def test_receptive_field_jump_and_start_follow_the_recurrence():
    # conv 7x7/2 pad 3, max pool 3x3/2 pad 1: ResNet's stem
    stem, pool = receptive_fields([(7, 2, 3, 1), (3, 2, 1, 1)])
    assert (stem.size, stem.jump, stem.start) == ((7, 7), (2, 2), (0, 0))
    assert (pool.size, pool.jump, pool.start) == ((11, 11), (4, 4), (0, 0))
    dilated = ReceptiveField.of_input(1).conv((3,), (1,), ((0, 0),), (2,))
    assert dilated.size == (5,) and dilated.start == (2,)


def test_receptive_field_covers_exactly_the_cells_that_influence_an_output():
    """Gradient check: the input cells with a non-zero gradient are the receptive field."""
    layers = [(3, 2, 1, 1), (3, 1, 1, 2), (2, 2, 0, 1)]
    convs = [torch.nn.Conv1d(1, 1, k, s, p, d, bias=False) for k, s, p, d in layers]
    for conv in convs:
        torch.nn.init.constant_(conv.weight, 1.0)
    x = torch.zeros(1, 1, 64, requires_grad=True)
    y = x
    for conv in convs:
        y = conv(y)
    field = receptive_fields(layers, ndim=1)[-1]
    y[0, 0, 3].backward()
    touched = np.flatnonzero(x.grad[0, 0].numpy())
    centre = field.start[0] + 3 * field.jump[0]
    assert touched.max() - touched.min() + 1 == field.size[0]
    assert (touched.min() + touched.max()) / 2 == centre
