"""explain(): one output element as its sum of products, equal to the convolution."""

from __future__ import annotations

import numpy as np
import pytest

import convforge as cf
from convforge.analysis import explain

F = cf.nn.functional


def test_explain_writes_the_d2l_worked_sum():
    """d2l: 0×0 + 1×1 + 3×2 + 4×3 = 19."""
    e = explain(np.arange(9.0).reshape(3, 3), np.arange(4.0).reshape(2, 2), (0, 0))
    text = str(e)
    assert "= 0×0 + 1×1 + 3×2 + 4×3" in text
    assert text.splitlines()[-1].strip() == "= 19"
    assert e.value == 19
    assert [t.product for t in e.terms] == [0, 1, 6, 12]


def test_explain_names_padding_cells():
    """d2l's padded example: the first output reads three padding zeros and x[0, 0]."""
    e = explain(np.arange(9.0).reshape(3, 3), np.arange(4.0).reshape(2, 2), (0, 0), padding=1)
    assert [t.source for t in e.terms] == [None, None, None, (0, 0, 0)]
    assert "0 (padding)" in str(e)
    assert "= 0×0 + 0×1 + 0×2 + 0×3" in str(e)
    assert e.value == 0


def test_explain_shows_the_window_in_the_padded_grid():
    e = explain(np.arange(16.0).reshape(4, 4), np.ones((2, 2)), (1, 0), stride=2, padding=1)
    grid = e.grid_lines()
    assert all(line in str(e) for line in grid)
    assert len(grid) == 6  # 4 + 2 padding rows
    assert grid[2].split()[:2] == ["[.]", "[4]"]  # rows 2..3, cols 0..1 of the padded input
    assert grid[3].split()[:2] == ["[.]", "[8]"]
    assert "rows 2..3 (starts at 1×2)" in str(e)


@pytest.mark.parametrize(
    ("stride", "padding", "dilation", "groups", "mode"),
    [
        (1, 0, 1, 1, "zeros"),
        (2, 1, 1, 1, "zeros"),
        ((2, 1), ((1, 0), (2, 1)), (1, 2), 1, "zeros"),
        (1, "same", 2, 1, "zeros"),
        (1, 2, 1, 2, "zeros"),
        (2, 1, 1, 1, "reflect"),
        (1, 1, 2, 1, "circular"),
        (1, 1, 1, 2, "replicate"),
    ],
)
def test_explain_value_equals_the_convolution_everywhere(stride, padding, dilation, groups, mode, rng):
    x = rng.standard_normal((4, 6, 7))
    w = rng.standard_normal((4, 4 // groups, 3, 2))
    b = rng.standard_normal(4)
    y = F.conv2d(x, w, b, stride, padding, dilation, groups, padding_mode=mode).array
    for index in [(0, 0, 0), (3, -1, -1), (1, 1, 2 % y.shape[2])]:
        e = explain(x, w, index, b, stride, padding, dilation, groups, mode)
        expected = y[tuple(i % s for i, s in zip(index, y.shape))]
        assert e.value == pytest.approx(expected, abs=1e-12)
        assert len(e.terms) == (4 // groups) * 3 * 2


def test_explain_works_in_1d_and_3d(rng):
    x1, w1 = rng.standard_normal((1, 9)), rng.standard_normal((1, 1, 3))
    y1 = F.conv1d(x1, w1, None, 2, 1, 2).array
    assert explain(x1, w1, (0, 2), stride=2, padding=1, dilation=2).value == pytest.approx(y1[0, 2])
    x3, w3 = rng.standard_normal((2, 3, 4, 4)), rng.standard_normal((1, 2, 2, 2, 2))
    y3 = F.conv3d(x3, w3, None, 1, 1).array
    assert explain(x3, w3, (0, 1, 2, 3), padding=1).value == pytest.approx(y3[0, 1, 2, 3])


def test_explain_rejects_an_index_outside_the_output():
    with pytest.raises(ValueError, match=r"index must address a cell of the output of shape \(2, 2\)"):
        explain(np.ones((3, 3)), np.ones((2, 2)), (2, 0))
    with pytest.raises(ValueError, match="kernel size can't be greater"):
        explain(np.ones((2, 2)), np.ones((3, 3)), (0, 0))
    with pytest.raises(ValueError, match="bias must have shape"):
        explain(np.ones((3, 3)), np.ones((2, 2)), (0, 0), bias=[1.0, 2.0])
