"""cf.save / cf.load on safetensors: nesting, scalars, what torch reads and what torch wrote."""

from __future__ import annotations

import io
from collections import OrderedDict

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.numpy import load_file as numpy_load_file
from safetensors.torch import load_file as torch_load_file
from safetensors.torch import save_file as torch_save_file

import convforge as cf


def small_net():
    cf.manual_seed(0)
    return cf.nn.Sequential(cf.nn.Conv2d(1, 2, 3), cf.nn.BatchNorm2d(2), cf.nn.Flatten(), cf.nn.Linear(8, 3))


def assert_same_structure(loaded, expected):
    if isinstance(expected, cf.Tensor):
        assert isinstance(loaded, cf.Tensor) and loaded.dtype == expected.dtype
        np.testing.assert_array_equal(loaded.array, expected.array)
    elif isinstance(expected, np.ndarray):
        assert isinstance(loaded, np.ndarray) and loaded.dtype == expected.dtype
        np.testing.assert_array_equal(loaded, expected)
    elif isinstance(expected, dict):
        assert list(loaded) == list(expected)
        for key in expected:
            assert_same_structure(loaded[key], expected[key])
    elif isinstance(expected, (list, tuple)):
        assert type(loaded) is type(expected) and len(loaded) == len(expected)
        for a, b in zip(loaded, expected):
            assert_same_structure(a, b)
    else:
        assert loaded == expected and type(loaded) is type(expected)


def test_nested_structure_round_trips_with_types_and_scalars(tmp_path):
    model = small_net()
    optimizer = cf.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(cf.randn(2, 1, 4, 4)).sum().backward()
    optimizer.step()
    obj = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),  # int keys, param groups of JSON values
        "epoch": 3,
        "loss": 0.25,
        "name": "run-1",
        "done": False,
        "nothing": None,
        "history": [1.0, 0.5, (2, "x")],
        "array": np.arange(6, dtype=np.int32).reshape(2, 3),
        "scalar_tensor": cf.tensor(2.5),
        "empty": cf.zeros(0, 3),
    }
    cf.save(obj, tmp_path / "run.safetensors")
    assert_same_structure(cf.load(tmp_path / "run.safetensors"), obj)


def test_numpy_scalars_become_python_numbers(tmp_path):
    cf.save({"accuracy": np.float64(0.97), "step": np.int64(4), "ok": np.bool_(True)}, tmp_path / "s")
    assert cf.load(tmp_path / "s") == {"accuracy": 0.97, "step": 4, "ok": True}


def test_a_flat_state_dict_keeps_its_key_names_for_torch(tmp_path):
    model = small_net()
    cf.save(model.state_dict(), tmp_path / "w.safetensors")
    stored = numpy_load_file(str(tmp_path / "w.safetensors"))
    assert set(stored) == set(model.state_dict())
    torch_model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.Flatten(), torch.nn.Linear(8, 3)
    )
    torch_model.load_state_dict(torch_load_file(str(tmp_path / "w.safetensors")))
    x = np.random.default_rng(0).normal(size=(2, 1, 4, 4)).astype(np.float32)
    model.eval(), torch_model.eval()
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(cf.tensor(x)).array, expected, rtol=1e-5, atol=1e-6)


def test_nested_keys_are_dotted_paths(tmp_path):
    cf.save({"model": {"w": cf.ones(2)}, "opt": {"state": {0: {"buf": np.zeros(2)}}}}, tmp_path / "n")
    assert set(numpy_load_file(str(tmp_path / "n"))) == {"model.w", "opt.state.0.buf"}


def test_load_reads_a_safetensors_file_torch_wrote(tmp_path):
    tensors = {
        "weight": torch.randn(3, 4),
        "half": torch.randn(2).half(),
        "counter": torch.tensor(7),
        "mask": torch.tensor([True, False]),
    }
    torch_save_file(tensors, str(tmp_path / "t.safetensors"))
    loaded = cf.load(tmp_path / "t.safetensors")
    assert set(loaded) == set(tensors)
    for key, value in tensors.items():
        assert isinstance(loaded[key], cf.Tensor)
        np.testing.assert_array_equal(loaded[key].array, value.numpy())
    assert loaded["counter"].dtype == np.int64 and loaded["half"].dtype == np.float16


def test_bfloat16_from_torch_is_widened_to_float32_with_a_warning(tmp_path):
    value = torch.randn(2, 3).bfloat16()
    torch_save_file({"b": value, "f": torch.ones(2)}, str(tmp_path / "b.safetensors"))
    with pytest.warns(UserWarning, match="bfloat16 tensors \\['b'\\] were widened to float32"):
        loaded = cf.load(tmp_path / "b.safetensors")
    assert loaded["b"].dtype == np.float32
    np.testing.assert_array_equal(loaded["b"].array, value.float().numpy())


def test_file_objects_work_as_in_torch():
    buffer = io.BytesIO()
    cf.save({"w": cf.ones(2, 2), "epoch": 1}, buffer)
    buffer.seek(0)
    loaded = cf.load(buffer)
    assert loaded["epoch"] == 1
    np.testing.assert_array_equal(loaded["w"].array, np.ones((2, 2), dtype=np.float32))


def test_save_is_atomic_and_overwrites(tmp_path):
    path = tmp_path / "a.safetensors"
    cf.save({"v": 1}, path)
    cf.save({"v": 2}, path)
    assert cf.load(path) == {"v": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["a.safetensors"]


def test_unsavable_values_are_refused_naming_them(tmp_path):
    with pytest.raises(TypeError, match="model is a Sequential.*save a model's state_dict"):
        cf.save({"model": small_net()}, tmp_path / "x")
    with pytest.raises(TypeError, match="fn is a function"):
        cf.save({"fn": lambda: None}, tmp_path / "x")
    assert list(tmp_path.iterdir()) == []


def test_ordered_dicts_and_dict_keys_that_look_like_tags(tmp_path):
    obj = {"__tensor__": "not a tag", 3: "int key", "z": OrderedDict(a=1)}
    cf.save(obj, tmp_path / "k")
    assert cf.load(tmp_path / "k") == {"__tensor__": "not a tag", 3: "int key", "z": {"a": 1}}


@pytest.mark.parametrize("keep", [0.05, 0.5, 0.99])
def test_truncated_files_raise_a_clear_error(tmp_path, keep):
    path = tmp_path / "w.safetensors"
    cf.save(small_net().state_dict(), path)
    content = path.read_bytes()
    path.write_bytes(content[: int(len(content) * keep)])
    with pytest.raises(ValueError, match="truncated or corrupt|neither a safetensors"):
        cf.load(path)


def test_unknown_files_and_missing_files(tmp_path):
    (tmp_path / "t.txt").write_text("hello world, not a model")
    with pytest.raises(ValueError, match="neither a safetensors file, a torch.save file"):
        cf.load(tmp_path / "t.txt")
    with pytest.raises(FileNotFoundError):
        cf.load(tmp_path / "missing.pth")


_json_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.floats(allow_nan=False), st.text(max_size=8)
)
_arrays = st.builds(
    lambda shape, dtype, seed: np.random.default_rng(seed).normal(size=shape).astype(dtype),
    st.lists(st.integers(0, 3), max_size=3).map(tuple),
    st.sampled_from([np.float32, np.float64, np.int64, np.int8, np.bool_]),
    st.integers(0, 1000),
)
_leaves = st.one_of(_json_leaves, _arrays, _arrays.map(cf.tensor))
_structures = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.one_of(st.text(max_size=6), st.integers(-3, 3)), inner, max_size=3),
    ),
    max_leaves=8,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(obj=_structures)
def test_any_nesting_of_tensors_arrays_and_json_values_round_trips(tmp_path, obj):
    cf.save(obj, tmp_path / "any.safetensors")
    assert_same_structure(cf.load(tmp_path / "any.safetensors"), obj)


def test_a_single_tensor_round_trips_and_torch_save_of_one_tensor_loads(tmp_path):
    cf.save(cf.arange(6).reshape(2, 3), tmp_path / "t.safetensors")
    assert_same_structure(cf.load(tmp_path / "t.safetensors"), cf.arange(6).reshape(2, 3))
    torch.save(torch.arange(4.0), tmp_path / "t.pt")
    np.testing.assert_array_equal(cf.load(tmp_path / "t.pt").array, np.arange(4.0, dtype=np.float32))
