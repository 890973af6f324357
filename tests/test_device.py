"""Devices: torch's spellings accepted, the CPU used, anything else refused before any work."""

from __future__ import annotations

import numpy as np
import pytest

import convforge as cf
from convforge.device import Device, cuda_device, device, parse_to_args


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("cpu", Device("cpu")),
        ("cuda", Device("cuda")),
        ("cuda:1", Device("cuda", 1)),
        ("cpu:0", Device("cpu")),
    ],
)
def test_device_strings_parse_as_in_torch(spec, expected):
    assert device(spec) == expected
    assert device(device(spec)) is not None
    assert str(device(spec)) == str(expected)


def test_device_compares_equal_to_its_string_and_hashes_consistently():
    assert cf.device("cuda:0") == "cuda:0"
    assert cf.device("cpu") != "cuda"
    assert cf.device("cpu") != "not a device"
    assert len({Device("cuda", 0), device("cuda:0")}) == 1
    assert repr(device("cuda:2")) == "device(type='cuda', index=2)"


@pytest.mark.parametrize(
    "spec, error, match",
    [
        ("tpu", ValueError, "device type must be one of cpu, cuda, but got device='tpu'"),
        ("cuda:x", ValueError, "non-negative integer, but got device='cuda:x'"),
        ("cuda:-1", ValueError, "non-negative integer"),
        ("cpu:1", ValueError, "only index 0"),
        (0, TypeError, "but got 0 of type int"),
        (None, TypeError, "of type NoneType"),
    ],
)
def test_bad_devices_are_refused_with_the_value(spec, error, match):
    with pytest.raises(error, match=match):
        device(spec)


def test_cuda_device_from_an_index():
    assert cuda_device(None) == "cuda"
    assert cuda_device(1) == "cuda:1"
    with pytest.raises(ValueError, match="expected a CUDA device"):
        cuda_device("cpu")


def test_tensors_live_on_the_cpu_and_to_cpu_is_free():
    x = cf.tensor([1.0, 2.0], device="cpu")
    assert x.device == "cpu" and x.device.type == "cpu"
    assert x.to("cpu") is x and x.cpu() is x
    y = x.to("cpu", cf.float64)
    assert y.dtype == np.float64 and y.device == "cpu"
    assert x.to(dtype=cf.float64).dtype == np.float64
    assert x.to(y).dtype == np.float64  # another tensor's dtype and device


def test_to_keeps_the_graph_when_it_casts():
    x = cf.tensor([1.0, 2.0], requires_grad=True)
    x.to("cpu", cf.float64).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize(
    "call",
    [
        lambda: cf.tensor([1.0], device="cuda"),
        lambda: cf.zeros(2, device="cuda:0"),
        lambda: cf.randn(2, 3, device="cuda"),
        lambda: cf.ones_like(np.ones(2), device="cuda"),
        lambda: cf.tensor([1.0]).to("cuda"),
        lambda: cf.tensor([1.0]).cuda(),
        lambda: cf.nn.Linear(2, 2).to("cuda"),
        lambda: cf.nn.Linear(2, 2).cuda(0),
        lambda: cf.nn.Conv2d(1, 2, 3, device="cuda"),
        lambda: cf.nn.Linear(2, 2, device="cuda:1"),
    ],
)
def test_cuda_is_refused_clearly_in_this_release(call):
    with pytest.raises(cf.DeviceUnavailableError, match="computes on the CPU only"):
        call()
    assert not cf.cuda_is_available()


def test_a_refused_move_leaves_the_module_unchanged():
    layer = cf.nn.Linear(2, 2)
    before = layer.weight.array.copy()
    with pytest.raises(cf.DeviceUnavailableError):
        layer.to("cuda", cf.float64)
    assert layer.weight.dtype == np.float32
    np.testing.assert_array_equal(layer.weight.array, before)


def test_module_to_casts_and_accepts_torch_forms():
    layer = cf.nn.Conv2d(1, 2, 3)
    assert layer.to("cpu") is layer
    layer.to(cf.device("cpu"), cf.float64)
    assert layer.weight.dtype == np.float64 and layer.bias.dtype == np.float64


@pytest.mark.parametrize(
    "args, match",
    [
        (("cpu", "cpu"), "device given twice"),
        ((np.float32, np.float64), "dtype given twice"),
        ((1, 2, 3), "at most 2"),
    ],
)
def test_to_refuses_ambiguous_arguments(args, match):
    with pytest.raises(TypeError, match=match):
        parse_to_args("Tensor.to", args)


def test_layers_take_torchs_device_argument():
    layer = cf.nn.Conv2d(1, 2, 3, device=cf.device("cpu"))
    assert layer.weight.device == "cpu"
    with pytest.raises(ValueError, match="device type must be one of cpu, cuda"):
        cf.nn.BatchNorm2d(2, device="tpu")
