"""torch.tan ... torch.einsum on convforge give torch 2.13's values, dtypes, gradients and errors."""

from __future__ import annotations

import numpy as np
import pytest

import convforge as cf

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(7)


def _arr(*shape):
    return RNG.standard_normal(shape)


def _both(cf_fn, torch_fn, *arrays):
    """Run both, compare value and dtype, then backpropagate one random weighting and compare grads."""
    ours = [cf.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = cf_fn(*ours), torch_fn(*theirs)
    assert str(out.dtype) == str(ref.dtype).replace("torch.", "")
    np.testing.assert_allclose(np.asarray(out.array), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    weight = RNG.standard_normal(ref.shape)
    (out * cf.tensor(weight)).sum().backward()
    (ref * torch.tensor(weight)).sum().backward()
    for x, y in zip(ours, theirs):
        np.testing.assert_allclose(np.asarray(x.grad.array), y.grad.numpy(), rtol=1e-10, atol=1e-12)


DIFFERENTIABLE = {
    "tan": (lambda m, x: m.tan(x), [(3, 4)]),
    "expm1": (lambda m, x: m.expm1(x * 1e-9), [(3, 4)]),
    "outer": (lambda m, x, y: m.outer(x, y), [(3,), (5,)]),
    "hstack_2d": (lambda m, x, y: m.hstack([x, y]), [(3, 2), (3, 4)]),
    "hstack_1d": (lambda m, x, y: m.hstack((x, y)), [(3,), (2,)]),
    "vstack_1d": (lambda m, x, y: m.vstack([x, y]), [(3,), (3,)]),
    "vstack_2d": (lambda m, x, y: m.vstack([x, y]), [(2, 3), (1, 3)]),
    "broadcast_to": (lambda m, x: m.broadcast_to(x, (2, -1, 4)), [(3, 1)]),
    "tile_short_dims": (lambda m, x: m.tile(x, (2,)), [(3, 2)]),
    "tile_long_dims": (lambda m, x: m.tile(x, (2, 1, 3)), [(3, 2)]),
    "cumprod": (lambda m, x: m.cumprod(x, 1), [(3, 5)]),
    "cumprod_negative_dim": (lambda m, x: m.cumprod(x, -2), [(4, 2)]),
    "median_all": (lambda m, x: m.median(x), [(4, 5)]),
    "median_dim": (lambda m, x: m.median(x, 1).values, [(3, 6)]),
    "median_keepdim": (lambda m, x: m.median(x, 0, keepdim=True).values, [(5, 2)]),
    "kron_2d": (lambda m, x, y: m.kron(x, y), [(2, 3), (3, 2)]),
    "kron_mixed_ndim": (lambda m, x, y: m.kron(x, y), [(3,), (2, 2)]),
    "addmm": (lambda m, x, a, b: m.addmm(x, a, b), [(3, 5), (3, 4), (4, 5)]),
    "addmm_beta_alpha": (lambda m, x, a, b: m.addmm(x, a, b, beta=0.5, alpha=-2), [(5,), (3, 4), (4, 5)]),
    "addmm_method": (lambda m, x, a, b: x.addmm(a, b, beta=2, alpha=0.25), [(3, 5), (3, 4), (4, 5)]),
    "tensordot_int": (lambda m, x, y: m.tensordot(x, y, 2), [(2, 3, 4), (3, 4, 5)]),
    "tensordot_zero": (lambda m, x, y: m.tensordot(x, y, 0), [(2, 3), (4,)]),
    "tensordot_lists": (lambda m, x, y: m.tensordot(x, y, ([0, 2], [2, 1])), [(2, 3, 4), (5, 4, 2)]),
    "einsum_matmul": (lambda m, x, y: m.einsum("ij,jk->ik", x, y), [(3, 4), (4, 5)]),
    "einsum_three": (lambda m, x, y, z: m.einsum("ij,jk,k->i", x, y, z), [(3, 4), (4, 5), (5,)]),
    "einsum_implicit": (lambda m, x, y: m.einsum("ba,ac", x, y), [(3, 4), (4, 5)]),
    "einsum_ellipsis": (lambda m, x, y: m.einsum("...ij,jk->...ik", x, y), [(2, 3, 4), (4, 5)]),
    "einsum_list_form": (lambda m, x, y: m.einsum("bi,bi->b", [x, y]), [(3, 4), (3, 4)]),
    "einsum_lone_index": (lambda m, x, y: m.einsum("ij,kl->l", x, y), [(3, 4), (2, 5)]),
    "einsum_broadcast_one": (lambda m, x, y: m.einsum("...i,...i->...", x, y), [(1, 4), (3, 4)]),
    "einsum_outer_product": (lambda m, x, y: m.einsum("i,j", x, y), [(3,), (4,)]),
    "einsum_one_operand_sum": (lambda m, x: m.einsum("ijk->j", x), [(2, 3, 4)]),
}


@pytest.mark.parametrize("name", sorted(DIFFERENTIABLE))
def test_matches_torch_values_dtype_and_gradients(name):
    fn, shapes = DIFFERENTIABLE[name]
    _both(lambda *t: fn(cf, *t), lambda *t: fn(torch, *t), *[_arr(*s) for s in shapes])


@pytest.mark.parametrize("name", ["tan", "expm1", "outer", "cumprod", "median", "kron", "tile", "isclose"])
def test_tensor_method_exists_like_torch(name):
    assert hasattr(torch.Tensor, name) and hasattr(cf.Tensor, name)


def test_expm1_is_exact_near_zero_and_float32_stays_float32():
    x = np.array([1e-10, -3e-12, 0.5], dtype=np.float32)
    out, ref = cf.expm1(cf.tensor(x)), torch.expm1(torch.tensor(x))
    assert out.dtype == cf.float32
    np.testing.assert_allclose(np.asarray(out.array), ref.numpy(), rtol=1e-6)
    assert cf.expm1(cf.tensor([0, 1])).dtype == cf.float32


@pytest.mark.parametrize("values", [[1, 0, 3], [True, False, True]])
def test_cumprod_of_integers_and_bools_is_int64_like_torch(values):
    out, ref = cf.cumprod(cf.tensor(values), 0), torch.cumprod(torch.tensor(values), 0)
    assert out.dtype == cf.int64 and ref.dtype == torch.int64
    assert out.tolist() == ref.tolist()


def test_cumprod_gradient_through_zero_matches_torch():
    _both(lambda x: cf.cumprod(x, 0), lambda x: torch.cumprod(x, 0), np.array([2.0, 0.0, 3.0, -1.0]))


@pytest.mark.parametrize("values", [[4, 1, 3, 2], [3.0, 1.0, 2.0], [5, 5, 1, 1]])
def test_median_without_dim_is_the_lower_median(values):
    out, ref = cf.median(cf.tensor(values)), torch.median(torch.tensor(values))
    assert out.item() == ref.item() and str(out.dtype) == str(ref.dtype).replace("torch.", "")


def test_median_with_dim_gives_values_and_indices_namedtuple():
    x = np.array([[3.0, 1.0, 2.0, 9.0], [0.0, -1.0, 7.0, 4.0]])
    out, ref = cf.median(cf.tensor(x), dim=1), torch.median(torch.tensor(x), dim=1)
    assert out.values.tolist() == ref.values.tolist()
    assert out.indices.tolist() == ref.indices.tolist() and out.indices.dtype == cf.int64
    values, indices = cf.tensor(x).median(0, keepdim=True)
    assert (
        values.shape == (1, 4)
        and indices.tolist() == torch.tensor(x).median(0, keepdim=True).indices.tolist()
    )


def test_median_of_empty_float_tensor_is_nan_and_empty_dim_raises_like_torch():
    assert torch.median(torch.tensor([])).isnan() and cf.median(cf.tensor([])).isnan().item()
    with pytest.raises(IndexError):
        torch.median(torch.zeros(2, 0), 1)
    with pytest.raises(IndexError, match="non-zero size"):
        cf.median(cf.zeros(2, 0), 1)


def test_median_propagates_nan_like_torch():
    x = np.array([[1.0, np.nan, 0.0, 2.0], [3.0, 1.0, 2.0, 0.5]])
    out, ref = cf.median(cf.tensor(x), 1), torch.median(torch.tensor(x), 1)
    np.testing.assert_array_equal(np.asarray(out.values.array), ref.values.numpy())
    assert out.indices.tolist() == ref.indices.tolist()
    assert cf.median(cf.tensor(x)).isnan().item() and torch.median(torch.tensor(x)).isnan()


@pytest.mark.parametrize(
    ("a", "b", "kwargs"),
    [
        ([1.0, 2.0, float("nan")], [1.0 + 1e-9, 2.1, float("nan")], {}),
        ([1.0, 2.0, float("nan")], [1.0, 2.05, float("nan")], {"rtol": 0.1, "equal_nan": True}),
        ([0.0, 1e-9], [1e-7, 0.0], {"atol": 1e-8}),
    ],
)
def test_isclose_matches_torch(a, b, kwargs):
    out = cf.isclose(cf.tensor(a), cf.tensor(b), **kwargs)
    ref = torch.isclose(torch.tensor(a), torch.tensor(b), **kwargs)
    assert out.dtype == cf.bool and out.tolist() == ref.tolist()
    assert cf.tensor(a).isclose(cf.tensor(b), **kwargs).tolist() == ref.tolist()


@pytest.mark.parametrize("name", ["logical_and", "logical_or", "logical_xor"])
def test_binary_logical_ops_match_torch(name):
    a, b = [0, 2, -1, 0], [0.0, 0.0, 3.5, 1.0]
    out = getattr(cf, name)(cf.tensor(a), cf.tensor(b))
    ref = getattr(torch, name)(torch.tensor(a), torch.tensor(b))
    assert out.dtype == cf.bool and out.tolist() == ref.tolist()
    assert getattr(cf.tensor(a), name)(cf.tensor(b)).tolist() == ref.tolist()


def test_logical_not_matches_torch():
    assert (
        cf.logical_not(cf.tensor([0, 3, 0])).tolist() == torch.logical_not(torch.tensor([0, 3, 0])).tolist()
    )


def test_addmm_with_beta_zero_ignores_nan_in_input_like_torch():
    a, b = _arr(2, 3), _arr(3, 2)
    bias = np.full((2, 2), np.nan)
    out = cf.addmm(cf.tensor(bias), cf.tensor(a), cf.tensor(b), beta=0)
    ref = torch.addmm(torch.tensor(bias), torch.tensor(a), torch.tensor(b), beta=0)
    np.testing.assert_allclose(np.asarray(out.array), ref.numpy())


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda m: m.outer(m.ones(2, 2), m.ones(2)), RuntimeError),
        (lambda m: m.addmm(m.ones(2, 2), m.ones(2), m.ones(2, 2)), RuntimeError),
        (lambda m: m.addmm(m.ones(2, 2), m.ones(2, 3), m.ones(2, 2)), RuntimeError),
        (lambda m: m.tensordot(m.ones(2, 3), m.ones(2, 3), ([1], [0])), RuntimeError),
        (lambda m: m.tensordot(m.ones(2, 3), m.ones(3, 2), ([1], [0, 1])), RuntimeError),
        (lambda m: m.tensordot(m.ones(2, 3), m.ones(3, 2), -1), RuntimeError),
        (lambda m: m.cumprod(m.ones(2, 3), 2), IndexError),
        (lambda m: m.hstack(m.ones(2)), TypeError),
        (lambda m: m.vstack([]), RuntimeError),
        (lambda m: m.addmm(m.ones(2, 2), m.ones(2, 2, dtype=m.float64), m.ones(2, 2)), RuntimeError),
        (lambda m: m.einsum("i,i", m.ones(2), m.ones(2, dtype=m.float64)), RuntimeError),
        (lambda m: m.isclose(m.ones(2), m.ones(2, dtype=m.float64)), RuntimeError),
        (lambda m: m.broadcast_to(m.ones(3), (2,)), RuntimeError),
    ],
)
def test_bad_arguments_raise_what_torch_raises(call, error):
    with pytest.raises(error):
        call(torch)
    with pytest.raises(error):
        call(cf)


def test_einsum_with_repeated_index_in_one_operand_raises_valueerror():
    with pytest.raises(ValueError, match="repeated within one operand"):
        cf.einsum("ii->i", cf.ones(3, 3))


def test_einsum_with_wrong_operand_count_raises_valueerror():
    with pytest.raises(ValueError, match="operands"):
        cf.einsum("ij,jk->ik", cf.ones(2, 2))


def test_einsum_passes_finite_difference_gradcheck():
    x = cf.tensor(_arr(2, 3), requires_grad=True)
    y = cf.tensor(_arr(3, 4), requires_grad=True)
    assert cf.autograd.gradcheck(lambda a, b: cf.einsum("ij,jk->ki", a, b), (x, y))


@pytest.mark.parametrize("name", ["tan", "expm1"])
def test_integer_input_gives_the_default_float_dtype_like_torch(name):
    out, ref = getattr(cf, name)(cf.tensor([1, 2])), getattr(torch, name)(torch.tensor([1, 2]))
    assert out.dtype == cf.float32 and ref.dtype == torch.float32
    np.testing.assert_allclose(np.asarray(out.array), ref.numpy(), rtol=1e-6)


@pytest.mark.parametrize("shape", [(2, 3), (4,), (1, 2, 2)])
def test_kron_and_outer_of_integers_stay_integer_like_torch(shape):
    a = RNG.integers(-3, 4, size=shape)
    b = RNG.integers(-3, 4, size=(2,))
    out, ref = cf.kron(cf.tensor(a), cf.tensor(b)), torch.kron(torch.tensor(a), torch.tensor(b))
    assert out.dtype == cf.int64 and out.tolist() == ref.tolist()
    o = cf.outer(cf.tensor(b), cf.tensor(b))
    assert o.dtype == cf.int64 and o.tolist() == torch.outer(torch.tensor(b), torch.tensor(b)).tolist()


def _random_equation(rng):
    sizes = dict(zip("abcde", rng.integers(1, 4, size=5)))
    terms = []
    for _ in range(rng.integers(1, 4)):
        letters = rng.permutation(list(sizes))[: rng.integers(1, 4)]
        terms.append("".join(letters))
    used = sorted(set("".join(terms)))
    out = "".join(rng.permutation(used)[: rng.integers(0, len(used) + 1)])
    shapes = [tuple(int(sizes[c]) for c in t) for t in terms]
    return ",".join(terms) + "->" + out, shapes


@pytest.mark.parametrize("seed", range(25))
def test_random_einsum_equations_match_torch_values_and_gradients(seed):
    equation, shapes = _random_equation(np.random.default_rng(seed))
    arrays = [_arr(*s) for s in shapes]
    _both(lambda *t: cf.einsum(equation, *t), lambda *t: torch.einsum(equation, *t), *arrays)
