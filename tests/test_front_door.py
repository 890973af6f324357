"""One front door for every convolution: ``ConvArgs.parse`` -> ``resolve`` -> ``select.plan``.

Every caller (functional, nn modules, the dynamic variant, dask, analysis, viz, the CLI)
goes through the two-stage spec and asks ``select.plan`` for its algorithm; one-element
tuples broadcast exactly where torch 2.13 accepts them; the gradients derived from a
forward-only algorithm equal the hand-written ones.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import convforge as cf
import convforge.functional as F
from convforge import spec as sp
from convforge.kernels import derived, reference, select


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261201)


@pytest.fixture
def door(monkeypatch):
    """Counts of calls to ``ConvArgs.resolve`` and ``select.plan``, by op name."""
    calls: dict[str, list[str]] = {"resolve": [], "plan": []}
    resolve, plan = sp.ConvArgs.resolve, select.plan

    def counting_resolve(self, x, w, b=None, *, op=None, output_size=None):
        calls["resolve"].append(op or self.op)
        return resolve(self, x, w, b, op=op, output_size=output_size)

    def counting_plan(spec, algorithm="auto", workspace=None, op="conv"):
        calls["plan"].append(op)
        return plan(spec, algorithm=algorithm, workspace=workspace, op=op)

    monkeypatch.setattr(sp.ConvArgs, "resolve", counting_resolve)
    monkeypatch.setattr(select, "plan", counting_plan)
    return calls


# --------------------------------------------------------------------------------------
# every caller reaches the front door
# --------------------------------------------------------------------------------------
def _x(*shape):
    return np.ones(shape)


CALLERS = {
    "F.conv1d": lambda: F.conv1d(_x(1, 2, 6), _x(3, 2, 3)),
    "F.conv2d": lambda: F.conv2d(_x(1, 2, 6, 6), _x(3, 2, 3, 3), padding="same"),
    "F.conv3d": lambda: F.conv3d(_x(1, 2, 4, 4, 4), _x(3, 2, 2, 2, 2)),
    "F.conv_transpose2d": lambda: F.conv_transpose2d(_x(1, 2, 4, 4), _x(2, 3, 3, 3), stride=2),
    "nn.Conv2d": lambda: cf.nn.Conv2d(2, 3, 3, dtype=cf.float64)(cf.tensor(_x(1, 2, 6, 6))),
    "nn.ConvTranspose1d": lambda: cf.nn.ConvTranspose1d(2, 3, 3, dtype=cf.float64)(cf.tensor(_x(1, 2, 6))),
    "nn.DynamicConv2d": lambda: cf.nn.DynamicConv2d(2, 3, 3, dtype=cf.float64)(cf.tensor(_x(2, 2, 6, 6))),
}


@pytest.mark.parametrize("caller", CALLERS, ids=str)
def test_every_array_caller_resolves_its_spec_and_asks_select_for_a_plan(door, caller):
    CALLERS[caller]()
    assert door["resolve"], f"{caller} did not resolve a ConvArgs"
    assert door["plan"], f"{caller} did not ask select.plan"


def test_the_tools_resolve_their_specs_through_conv_args(door):
    from convforge.analysis import conv_output_shape, explain, summary, toeplitz
    from convforge.viz.animate import animate_conv

    conv_output_shape((1, 2, 8, 8), 3, 4, stride=2, padding=1)
    conv_output_shape((1, 2, 8, 8), 3, 4, stride=2, padding=1, transposed=True)
    explain(np.arange(9.0).reshape(3, 3), np.ones((2, 2)), (0, 0))
    toeplitz(np.ones((1, 1, 3)), (1, 5), padding=1)
    summary(cf.nn.Sequential(cf.nn.Conv2d(1, 2, 3)), (1, 8, 8))
    animate_conv(5, 3, stride=2, transposed=True)
    assert len(door["resolve"]) >= 6


def test_the_cli_reaches_the_front_door_through_the_tools(door, capsys):
    from convforge.cli import main

    assert main(["shape", "--input", "1x3x8x8", "--kernel", "3", "--stride", "2"]) == 0
    assert main(["explain"]) == 0
    assert door["resolve"] == ["conv2d", "explain"]


def test_dask_asks_select_for_the_plan_of_a_block_with_its_workspace(monkeypatch):
    pytest.importorskip("dask.array")
    import dask.array as da

    import convforge.dask as cfd
    from convforge.dask.conv import BLOCK_WORKSPACE

    seen = []
    plan = select.plan

    def recording_plan(spec, algorithm="auto", workspace=None, op="conv"):
        seen.append((spec.in_shape, workspace))
        return plan(spec, algorithm=algorithm, workspace=workspace, op=op)

    monkeypatch.setattr(select, "plan", recording_plan)
    x = np.ones((1, 2, 40, 40))
    cfd.conv(da.from_array(x, chunks=(1, 2, 20, 20)), np.ones((3, 2, 3, 3)), padding=1)
    assert (((1, 2, 22, 22)), BLOCK_WORKSPACE) in seen  # a 20x20 block with its halo


POOL_MODULES = {
    # (the layer, made with torch.nn or cf.nn; input shape; the functional op it runs as)
    "MaxPool1d": (lambda nn: nn.MaxPool1d(3, stride=2, padding=1), (1, 2, 9), "max_pool1d"),
    "MaxPool2d": (lambda nn: nn.MaxPool2d(2, return_indices=True), (2, 6, 6), "max_pool2d"),
    "MaxPool3d": (lambda nn: nn.MaxPool3d(2, ceil_mode=True), (1, 1, 5, 4, 4), "max_pool3d"),
    "AvgPool1d": (lambda nn: nn.AvgPool1d(2), (1, 2, 8), "avg_pool1d"),
    "AvgPool2d": (lambda nn: nn.AvgPool2d(3, 2, 1, count_include_pad=False), (1, 2, 7, 7), "avg_pool2d"),
    "AvgPool3d": (lambda nn: nn.AvgPool3d(2, divisor_override=3), (1, 1, 4, 4, 4), "avg_pool3d"),
}


@pytest.fixture
def pool_door(monkeypatch):
    """The ops named in calls to ``PoolArgs.parse`` and ``PoolArgs.resolve``."""
    calls: dict[str, list[str]] = {"parse": [], "resolve": []}
    parse, resolve = sp.PoolArgs.parse.__func__, sp.PoolArgs.resolve

    def counting_parse(cls, op, ndim, **kwargs):
        calls["parse"].append(op)
        return parse(cls, op, ndim, **kwargs)

    def counting_resolve(self, x, *, op=None):
        calls["resolve"].append(op or self.op)
        return resolve(self, x, op=op)

    monkeypatch.setattr(sp.PoolArgs, "parse", classmethod(counting_parse))
    monkeypatch.setattr(sp.PoolArgs, "resolve", counting_resolve)
    return calls


@pytest.mark.parametrize("name", POOL_MODULES, ids=str)
def test_pool_modules_parse_once_and_resolve_their_kept_arguments_per_call(rng, pool_door, name):
    make, shape, op = POOL_MODULES[name]
    ours, theirs = make(cf.nn), make(torch.nn)
    assert pool_door["parse"] == [name]  # in __init__, under the layer's name
    x = rng.standard_normal(shape)
    expected = theirs(torch.from_numpy(x))
    for _ in range(2):
        got = ours(cf.tensor(x))
        for y, t in zip(*(v if isinstance(v, tuple) else (v,) for v in (got, expected))):
            np.testing.assert_allclose(y.array, t.numpy(), atol=1e-12)
    assert pool_door["parse"] == [name]  # the calls parse nothing again
    assert pool_door["resolve"] == [op, op]  # each call resolves, under the functional name


def test_a_pool_module_reparses_a_reassigned_attribute_as_torch_reads_it(rng):
    x = rng.standard_normal((1, 1, 7, 7))
    ours, theirs = cf.nn.MaxPool2d(2), torch.nn.MaxPool2d(2)
    args = ours.pool_args()
    assert ours.pool_args() is args
    ours.ceil_mode = theirs.ceil_mode = True  # torch code does this
    np.testing.assert_array_equal(ours(cf.tensor(x)).array, theirs(torch.from_numpy(x)).numpy())
    assert ours.pool_args().ceil_mode and ours.pool_args() is not args


def test_summary_reads_a_pool_module_s_kept_arguments(pool_door):
    from convforge.analysis import summary

    model = cf.nn.Sequential(cf.nn.Conv2d(1, 2, 3), cf.nn.MaxPool2d(2), cf.nn.AvgPool2d(3, 1, 1))
    pool_door["parse"].clear()
    summary(model, (1, 10, 10))
    assert pool_door["parse"] == []  # nothing rebuilt from module attributes
    assert pool_door["resolve"].count("summary") == 2


def test_no_caller_builds_a_spec_positionally():
    """The old one-stage helpers are gone: the only conv entry is ConvArgs.parse/resolve."""
    assert not hasattr(sp, "conv_spec") and not hasattr(sp, "conv_transpose_spec")
    assert not hasattr(sp, "pool_spec")
    assert not hasattr(select, "kernel_for") and not hasattr(select, "plan_for")


# --------------------------------------------------------------------------------------
# the two stages
# --------------------------------------------------------------------------------------
def test_parse_fails_before_any_operand_is_seen():
    with pytest.raises(ValueError, match="conv2d: stride must be positive"):
        sp.ConvArgs.parse("conv2d", 2, stride=0)
    with pytest.raises(ValueError, match="padding='same'"):
        sp.ConvArgs.parse("conv_transpose2d", 2, padding="same", transposed=True)


def test_resolve_carries_dtype_and_batching():
    args = sp.ConvArgs.parse("conv2d", 2, padding=1)
    spec = args.resolve(np.ones((2, 5, 5), np.float32), np.ones((4, 2, 3, 3), np.float32))
    assert (spec.dtype, spec.batched, spec.in_shape) == ("float32", False, (1, 2, 5, 5))
    spec = args.resolve(sp.Operand((3, 2, 5, 5), "float64"), sp.Operand((4, 2, 3, 3), "float64"))
    assert (spec.dtype, spec.batched) == ("float64", True)


def test_a_module_keeps_its_parsed_arguments_and_reparses_a_reassigned_attribute(rng):
    layer = cf.nn.Conv2d(2, 2, 3, dtype=cf.float64)
    args = layer.conv_args()
    assert layer.conv_args() is args
    layer.padding = (1, 1)  # torch code does this
    x = cf.tensor(rng.standard_normal((1, 2, 5, 5)))
    assert layer(x).shape == (1, 2, 5, 5)
    assert layer.conv_args().padding == ((1, 1), (1, 1))


# --------------------------------------------------------------------------------------
# one-element tuples, where torch 2.13 takes them
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("name", ["stride", "padding", "dilation"])
def test_conv_functions_broadcast_one_element_tuples_as_torch(rng, n, name):
    x, w = rng.standard_normal((1, 2, *(7,) * n)), rng.standard_normal((3, 2, *(2,) * n))
    value = (2,) if name != "padding" else (1,)
    ours = getattr(F, f"conv{n}d")(x, w, **{name: value}).array
    theirs = getattr(TF, f"conv{n}d")(torch.from_numpy(x), torch.from_numpy(w), **{name: value}).numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-12)


def test_conv_transpose_broadcasts_one_element_output_padding_as_torch(rng):
    x, w = rng.standard_normal((1, 2, 4, 4)), rng.standard_normal((2, 3, 3, 3))
    ours = F.conv_transpose2d(x, w, stride=(2,), output_padding=(1,)).array
    theirs = TF.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w), stride=(2,), output_padding=(1,))
    np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-12)


def test_conv_modules_take_one_element_sizes_but_not_a_one_element_kernel_as_torch():
    layer = cf.nn.Conv2d(2, 2, 3, stride=(2,), padding=(1,), dilation=(1,))
    assert layer.stride == (2, 2) and layer.dilation == (1, 1)
    with pytest.raises(RuntimeError):
        torch.nn.Conv2d(2, 2, (3,))(torch.ones(1, 2, 6, 6))
    with pytest.raises(ValueError, match=r"kernel_size=\(3,\)"):
        cf.nn.Conv2d(2, 2, (3,))


@pytest.mark.parametrize("name", ["MaxPool2d", "AvgPool2d", "MaxPool3d", "AvgPool3d"])
def test_pool_modules_take_one_element_sizes_as_torch(rng, name):
    n = int(name[-2])
    x = rng.standard_normal((1, 2, *(7,) * n))
    make = lambda nn: getattr(nn, name)((3,), stride=(2,), padding=(1,))  # noqa: E731
    np.testing.assert_allclose(make(cf.nn)(cf.tensor(x)).array, make(torch.nn)(torch.from_numpy(x)).numpy())


@pytest.mark.parametrize("pool", ["max_pool2d", "avg_pool2d", "max_pool3d", "avg_pool3d"])
def test_pools_broadcast_one_element_tuples_as_torch(rng, pool):
    n = int(pool[-2])
    x = rng.standard_normal((1, 2, *(7,) * n))
    kwargs = {"kernel_size": (3,), "stride": (2,), "padding": (1,)}
    ours = getattr(F, pool)(x, **kwargs).array
    theirs = getattr(TF, pool)(torch.from_numpy(x), **kwargs).numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-12)


@pytest.mark.parametrize(
    "call",
    [
        lambda m, x: m.unfold(x, (3,)),
        lambda m, x: m.unfold(x, 3, stride=(2,)),
        lambda m, x: m.adaptive_avg_pool2d(x, (3,)),
        lambda m, x: m.max_unpool2d(*m.max_pool2d(x, 2, return_indices=True), 2, stride=(2,)),
    ],
)
def test_one_element_tuples_are_refused_where_torch_refuses_them(rng, call):
    x = rng.standard_normal((1, 2, 8, 8))
    with pytest.raises((RuntimeError, IndexError)):
        call(TF, torch.from_numpy(x))
    with pytest.raises((ValueError, TypeError)):
        call(F, cf.tensor(x))


# --------------------------------------------------------------------------------------
# gradients derived from forward alone
# --------------------------------------------------------------------------------------
class ForwardOnly:
    """An algorithm with nothing but ``supports`` and ``forward`` (the reference's)."""

    NAME = "forward_only"
    supports = staticmethod(reference.supports)
    forward = staticmethod(reference.forward)


GEOMETRIES = [
    # (in_shape, weight_shape, stride, padding, dilation, groups)
    ((2, 3, 9), (4, 3, 3), 1, 0, 1, 1),
    ((2, 4, 9, 8), (6, 2, 3, 2), 2, ((1, 0), (2, 1)), (1, 2), 2),
    ((1, 3, 7, 7), (3, 1, 3, 3), 3, 1, 2, 3),  # depthwise, stride 3, last rows unread
    ((1, 2, 5, 6), (2, 2, 2, 2), 1, 4, 1, 1),  # padding past the kernel extent: gradients crop
    ((1, 2, 5, 4, 6), (2, 2, 2, 3, 2), (1, 2, 2), (0, 1, 1), (2, 1, 1), 1),
]


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=str)
def test_directions_derived_from_forward_equal_the_hand_written_ones(monkeypatch, rng, geometry):
    in_shape, w_shape, stride, padding, dilation, groups = geometry
    args = sp.ConvArgs.parse(
        "conv", len(in_shape) - 2, stride=stride, padding=padding, dilation=dilation, groups=groups
    )
    spec = args.resolve(sp.Operand(in_shape, "float64"), sp.Operand(w_shape, "float64"))
    x, w = rng.standard_normal(in_shape), rng.standard_normal(w_shape)
    gy = rng.standard_normal(spec.out_shape)
    monkeypatch.setitem(select.ALGORITHMS, ForwardOnly.NAME, ForwardOnly)
    plan = select.plan(spec, algorithm=ForwardOnly.NAME)
    np.testing.assert_allclose(
        plan.grad_input(gy, w, spec, x.shape), reference.grad_input(gy, w, spec, x.shape), atol=1e-12
    )
    np.testing.assert_allclose(
        plan.grad_weight(x, gy, spec, w.shape), reference.grad_weight(x, gy, spec, w.shape), atol=1e-12
    )


def test_grad_input_spec_is_a_stride_one_convolution_giving_the_input_size():
    args = sp.ConvArgs.parse("conv", 2, stride=(2, 3), padding=((1, 0), (0, 2)), dilation=(1, 2))
    spec = args.resolve(sp.Operand((1, 2, 9, 10)), sp.Operand((4, 2, 3, 2)))
    grad = sp.grad_input_spec(spec)
    assert grad.spec.stride == (1, 1) and grad.input_dilation == (2, 3)
    assert grad.spec.out_spatial == spec.in_shape[2:]
    assert grad.spec.weight_shape == (2, 4, 3, 2)
    assert sp.grad_weight_spec(spec).spec.out_spatial == spec.kernel_size
    assert derived.direction_spec(spec, "grad_weight") == sp.grad_weight_spec(spec).spec


# --------------------------------------------------------------------------------------
# plans
# --------------------------------------------------------------------------------------
def test_a_forced_algorithm_is_a_plan_too():
    spec = sp.ConvArgs.parse("conv", 1).resolve(sp.Operand((1, 1, 8)), sp.Operand((1, 1, 3)))
    plan = select.plan(spec, algorithm="reference")
    assert isinstance(plan, select.Plan) and plan.names == ("reference",) * 3


def test_the_autotune_key_holds_the_dtype():
    spec = sp.ConvArgs.parse("conv", 1).resolve(sp.Operand((1, 1, 8)), sp.Operand((1, 1, 3)))
    assert select._key(spec) != select._key(spec.with_dtype("float64"))


def test_a_kernel_can_refuse_a_dtype_and_the_plan_computes_it_in_the_policy_dtype(rng):
    spec = sp.ConvArgs.parse("conv2d", 2).resolve(
        sp.Operand((1, 4, 5, 5), "float16"), sp.Operand((3, 4, 1, 1), "float16")
    )
    assert not select.ALGORITHMS["gemm"].supports(spec)  # its BLAS calls take float32/64 only
    plan = select.plan(spec, algorithm="gemm")  # computes in float32, as the policy says
    x, w = (
        rng.standard_normal((1, 4, 5, 5)).astype(np.float16),
        rng.standard_normal((3, 4, 1, 1)).astype(np.float16),
    )
    y = plan.forward(x, w, spec)
    assert y.dtype == np.float16
    expected = np.einsum("nchw,oc->nohw", x.astype(np.float32), w[:, :, 0, 0].astype(np.float32))
    np.testing.assert_array_equal(y, expected.astype(np.float16))


def test_workspace_turns_im2col_away(monkeypatch):
    spec = sp.ConvArgs.parse("conv2d", 2).resolve(sp.Operand((1, 1, 64, 64)), sp.Operand((1, 1, 9, 9)))
    monkeypatch.setattr(select, "rule", lambda spec, direction: "im2col")
    assert select.plan(spec).forward_algorithm == "im2col"
    assert (
        select.plan(spec, workspace=select.workspace_bytes("im2col", spec) - 1).forward_algorithm != "im2col"
    )


def test_an_auto_plan_for_a_spec_no_kernel_takes_is_a_clear_error():
    args = sp.ConvArgs.parse("conv2d", 2, padding=1, padding_mode="reflect")
    spec = args.resolve(sp.Operand((1, 1, 6, 6)), sp.Operand((1, 1, 3, 3)))  # not zero-padded
    with pytest.raises(ValueError, match="conv2d: no algorithm supports this convolution"):
        select.plan(spec, op="conv2d")
