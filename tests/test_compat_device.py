"""The device probes PyTorch scripts make answer as a CPU-only torch build does (P1)."""

import pytest
import torch

import convforge as cf

QUERIES = [
    ("cuda", "is_available", ()),
    ("cuda", "device_count", ()),
    ("cuda", "is_initialized", ()),
    ("cuda", "is_bf16_supported", ()),
    ("cuda", "memory_allocated", ()),
    ("cuda", "max_memory_allocated", ()),
    ("cuda", "memory_reserved", ()),
    ("cuda", "manual_seed", (0,)),
    ("cuda", "manual_seed_all", (0,)),
    ("cuda", "seed", ()),
    ("cuda", "empty_cache", ()),
    ("accelerator", "is_available", ()),
    ("accelerator", "current_accelerator", ()),
    ("accelerator", "device_count", ()),
]


@pytest.mark.parametrize(("module", "name", "args"), QUERIES)
def test_device_queries_answer_as_cpu_only_torch(module, name, args):
    ours = getattr(getattr(cf, module), name)(*args)
    theirs = getattr(getattr(torch, module), name)(*args)
    assert ours == theirs


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("cuda", "current_device"),
        ("cuda", "synchronize"),
        ("cuda", "get_device_name"),
        ("cuda", "get_device_capability"),
        ("cuda", "get_device_properties"),
        ("accelerator", "current_device_index"),
        ("accelerator", "synchronize"),
        ("accelerator", "empty_cache"),
    ],
)
def test_calls_that_need_a_gpu_raise_device_unavailable(module, name):
    with pytest.raises(cf.DeviceUnavailableError, match="CPU only"):
        getattr(getattr(cf, module), name)()


def test_cuda_seed_must_be_an_int():
    with pytest.raises(TypeError, match="seed must be an int"):
        cf.cuda.manual_seed("0")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("cudnn.enabled", True),
        ("cudnn.benchmark", False),
        ("cudnn.deterministic", False),
        ("cudnn.allow_tf32", True),
        ("cuda.matmul.allow_tf32", False),
    ],
)
def test_backend_flags_have_torch_defaults(path, expected):
    ours, theirs = cf.backends, torch.backends
    for part in path.split("."):
        ours, theirs = getattr(ours, part), getattr(theirs, part)
    assert ours == theirs == expected


def test_backend_flags_are_settable_and_change_nothing():
    flags = cf.backends.cudnn
    saved = flags.benchmark
    try:
        flags.benchmark = True
        assert cf.backends.cudnn.benchmark is True
        y = cf.nn.functional.conv2d(cf.ones(1, 1, 3, 3), cf.ones(1, 1, 2, 2))
        assert y.shape == (1, 1, 2, 2)
    finally:
        flags.benchmark = saved


@pytest.mark.parametrize("query", ["cudnn.is_available", "mps.is_available", "mps.is_built", "cuda.is_built"])
def test_backend_availability_answers_as_cpu_only_torch(query):
    section, name = query.split(".")
    ours = getattr(getattr(cf.backends, section), name)()
    theirs = getattr(getattr(torch.backends, section), name)()
    assert ours == theirs is False
