"""cf.io: checkpoints (one safetensors file, torch key names), the 0.1 .npz checkpoints, state-dict interop."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import convforge as cf
from convforge.io import (
    checkpoint_info,
    checkpoint_metadata,
    load_checkpoint,
    load_torch_state_dict,
    save_checkpoint,
    to_torch_state_dict,
)


def make_net(hidden: int = 6, seed: int = 0):
    """A small CNN with parameters and buffers (BatchNorm running stats)."""
    cf.manual_seed(seed)
    return cf.nn.Sequential(
        cf.nn.Conv2d(1, 3, 3),
        cf.nn.BatchNorm2d(3),
        cf.nn.ReLU(),
        cf.nn.Flatten(),
        cf.nn.Linear(3 * 6 * 6, hidden),
        cf.nn.ReLU(),
        cf.nn.Linear(hidden, 4),
    )


def make_torch_net(hidden: int = 6):
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 3, 3),
        torch.nn.BatchNorm2d(3),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(3 * 6 * 6, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, 4),
    )


def train_steps(model, optimizer, steps: int, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(steps):
        x = cf.tensor(rng.normal(size=(5, 1, 8, 8)).astype(np.float32))
        y = cf.tensor(rng.normal(size=(5, 4)).astype(np.float32))
        optimizer.zero_grad()
        diff = model(x) - y
        loss = (diff * diff).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def snapshot(model, optimizer=None):
    """Copies of everything loading may change."""
    opt = optimizer.state_dict() if optimizer is not None else None
    return {k: v.copy() for k, v in model.state_dict().items()}, opt


def assert_unchanged(before, model, optimizer=None):
    state, opt = before
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, state[key])
    if optimizer is not None:
        now = optimizer.state_dict()
        assert now["param_groups"] == opt["param_groups"]
        assert now["state"].keys() == opt["state"].keys()
        for index, buffers in now["state"].items():
            for name, value in buffers.items():
                np.testing.assert_array_equal(value, opt["state"][index][name])


@pytest.fixture
def trained(tmp_path):
    """A model and an Adam optimizer after 3 steps, saved to model.ckpt."""
    model = make_net()
    optimizer = cf.optim.Adam(model.parameters(), lr=1e-2, amsgrad=True)
    train_steps(model, optimizer, 3)
    path = tmp_path / "model.ckpt"
    save_checkpoint(path, model, optimizer, epoch=3, metadata={"accuracy": np.float64(0.97), "note": "test"})
    return path, model, optimizer


# ---- checkpoints ----------------------------------------------------------------------
def test_checkpoint_round_trip_restores_model_and_optimizer(trained):
    path, model, optimizer = trained
    fresh = make_net(seed=1)
    fresh_optimizer = cf.optim.Adam(fresh.parameters(), lr=0.5)
    metadata = load_checkpoint(path, fresh, fresh_optimizer)
    assert metadata == {"accuracy": 0.97, "note": "test"}
    assert_unchanged(snapshot(model, optimizer), fresh, fresh_optimizer)


def test_loaded_checkpoint_resumes_training_exactly(trained):
    path, model, optimizer = trained
    expected = train_steps(model, optimizer, 3, seed=1)
    fresh = make_net(seed=2)
    fresh_optimizer = cf.optim.Adam(fresh.parameters())
    load_checkpoint(path, fresh, fresh_optimizer)
    assert train_steps(fresh, fresh_optimizer, 3, seed=1) == expected
    for ours, theirs in zip(fresh.parameters(), model.parameters()):
        np.testing.assert_array_equal(ours.array, theirs.array)


def test_checkpoint_is_one_safetensors_file_at_exactly_the_path(trained):
    from safetensors.numpy import load_file

    path, model, _ = trained
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.ckpt"]  # no suffix, no leftovers
    stored = load_file(str(path))
    for name, value in model.state_dict().items():  # torch's key names, bare
        np.testing.assert_array_equal(stored[name], value)
    assert {k for k in stored if k not in model.state_dict()} == {
        f"optimizer.state.{i}.{b}" for i in range(8) for b in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    }
    info = checkpoint_info(path)
    assert info["format_version"] == 2 and info["convforge_version"] == cf.__version__
    assert info["architecture"] == {"class": "Sequential", "repr": repr(model)}
    assert [(p["name"], tuple(p["shape"])) for p in info["parameters"]] == [
        (k, v.shape) for k, v in model.state_dict().items()
    ]
    assert info["epoch"] == 3 and info["optimizer"]["class"] == "Adam"
    assert checkpoint_metadata(path) == {"accuracy": 0.97, "note": "test"}


def test_torch_loads_a_model_checkpoint_with_safetensors(tmp_path, trained):
    from safetensors.torch import load_file

    path, model, _ = trained
    torch_model = make_torch_net()
    result = torch_model.load_state_dict(load_file(str(path)), strict=False)  # optimizer keys are extra
    assert result.missing_keys == [] and all(k.startswith("optimizer.") for k in result.unexpected_keys)
    _outputs_match(model, torch_model)
    save_checkpoint(tmp_path / "model-only.safetensors", model)
    torch_model.load_state_dict(load_file(str(tmp_path / "model-only.safetensors")))  # strict
    _outputs_match(model, torch_model)


def test_cf_load_returns_the_checkpoint_structure(trained):
    path, model, optimizer = trained
    loaded = cf.load(path)
    assert loaded["format"] == "convforge.checkpoint" and loaded["epoch"] == 3
    assert loaded["optimizer_class"] == "Adam"
    assert loaded["optimizer"]["param_groups"] == optimizer.state_dict()["param_groups"]
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(np.asarray(loaded["model"][name]), value)


def test_model_only_checkpoint(tmp_path):
    model = make_net()
    save_checkpoint(tmp_path / "m.npz", model)
    fresh = make_net(seed=3)
    assert load_checkpoint(tmp_path / "m.npz", fresh) == {}
    assert_unchanged(snapshot(model), fresh)
    assert checkpoint_info(tmp_path / "m.npz")["optimizer"] is None


def test_saving_over_a_checkpoint_replaces_it(trained):
    path, model, optimizer = trained
    train_steps(model, optimizer, 1)
    save_checkpoint(path, model, metadata={"v": 2})
    assert checkpoint_metadata(path) == {"v": 2}
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.ckpt"]


def test_metadata_must_be_json(tmp_path):
    with pytest.raises(TypeError, match="metadata must hold only JSON values.*model is a object"):
        save_checkpoint(tmp_path / "m.npz", make_net(), metadata={"model": object()})
    with pytest.raises(TypeError, match="metadata must be a dict"):
        save_checkpoint(tmp_path / "m.npz", make_net(), metadata=[1, 2])
    assert list(tmp_path.iterdir()) == []


def test_other_class_is_rejected_and_model_unchanged(trained):
    path, _, _ = trained
    other = cf.nn.Linear(3, 2)
    before = snapshot(other)
    with pytest.raises(ValueError, match="holds a Sequential, not a Linear") as info:
        load_checkpoint(path, other)
    assert str(path) in str(info.value)
    assert_unchanged(before, other)


def test_other_shapes_are_rejected_and_model_and_optimizer_unchanged(trained):
    path, _, _ = trained
    other = make_net(hidden=7)
    optimizer = cf.optim.Adam(other.parameters())
    train_steps(other, optimizer, 1)
    before = snapshot(other, optimizer)
    with pytest.raises(
        ValueError,
        match=r"another architecture.*shape mismatch 4.weight: checkpoint \(6, 108\), model \(7, 108\)",
    ):
        load_checkpoint(path, other, optimizer)
    assert_unchanged(before, other, optimizer)


def test_other_names_are_rejected(trained):
    path, _, _ = trained
    other = cf.nn.Sequential(cf.nn.Conv2d(1, 3, 3), cf.nn.ReLU(), cf.nn.Flatten(), cf.nn.Linear(108, 4))
    with pytest.raises(ValueError, match=r"missing \['3.weight', '3.bias'\].*unexpected"):
        load_checkpoint(path, other)


def test_changed_repr_with_same_names_and_shapes_loads_with_a_warning(trained):
    path, _, _ = trained
    other = make_net()
    other[2] = cf.nn.Tanh()
    with pytest.warns(UserWarning, match="repr differs"):
        load_checkpoint(path, other)


def test_optimizer_mismatches_are_rejected_before_anything_changes(tmp_path, trained):
    path, _, _ = trained
    model = make_net(seed=5)
    sgd = cf.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    train_steps(model, sgd, 1)
    before = snapshot(model, sgd)
    with pytest.raises(ValueError, match="holds the state of a Adam, not of a SGD"):
        load_checkpoint(path, model, sgd)
    assert_unchanged(before, model, sgd)

    partial = cf.optim.Adam(list(model.parameters())[:2])
    before = snapshot(model, partial)
    with pytest.raises(ValueError, match="parameters in the state"):
        load_checkpoint(path, model, partial)
    assert_unchanged(before, model, partial)

    save_checkpoint(tmp_path / "model-only.npz", make_net())
    adam = cf.optim.Adam(model.parameters())
    with pytest.raises(ValueError, match="holds no optimizer state"):
        load_checkpoint(tmp_path / "model-only.npz", model, adam)
    assert_unchanged(before, model)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.999])
def test_truncated_checkpoint_is_rejected_and_model_unchanged(trained, keep):
    path, _, _ = trained
    content = path.read_bytes()
    path.write_bytes(content[: int(len(content) * keep)])
    model = make_net(seed=4)
    before = snapshot(model)
    with pytest.raises(ValueError, match="truncated or corrupt") as info:
        load_checkpoint(path, model)
    assert str(path) in str(info.value)
    assert_unchanged(before, model)


@pytest.mark.parametrize("where", [0.2, 0.5, 0.95])
def test_corrupt_bytes_are_detected_and_model_unchanged(trained, where):
    path, _, _ = trained
    content = bytearray(path.read_bytes())
    header_end = 8 + int.from_bytes(content[:8], "little")
    at = header_end + int((len(content) - header_end) * where)  # inside the tensor data
    content[at] ^= 0xFF
    path.write_bytes(bytes(content))
    model = make_net(seed=4)
    before = snapshot(model)
    with pytest.raises(ValueError, match="truncated or corrupt.*CRC-32"):
        load_checkpoint(path, model)
    assert_unchanged(before, model)


def test_files_that_are_not_checkpoints_are_rejected(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    plain_npz = tmp_path / "arrays.npz"
    np.savez(plain_npz, a=np.ones(3))
    npy = tmp_path / "array.npy"
    np.save(npy, np.ones(3))
    state_dict = tmp_path / "weights.safetensors"
    cf.save(make_net().state_dict(), state_dict)
    for path, match in [
        (text, "not a convforge checkpoint"),
        (plain_npz, "not a convforge checkpoint"),
        (npy, "not a convforge checkpoint"),
        (state_dict, "not a convforge checkpoint: a safetensors file of format None"),
    ]:
        with pytest.raises(ValueError, match=match) as info:
            load_checkpoint(path, make_net())
        assert str(path) in str(info.value)
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.npz", make_net())


def _rewrite_structure(path, change):
    from safetensors import safe_open
    from safetensors.numpy import save_file

    with safe_open(str(path), framework="numpy") as file:
        names = list(file.keys())  # noqa: SIM118 - safe_open is not iterable
        metadata, arrays = file.metadata(), {k: file.get_tensor(k) for k in names}
    structure = json.loads(metadata["convforge.structure"])
    change(structure)
    metadata["convforge.structure"] = json.dumps(structure)
    save_file(arrays, str(path), metadata=metadata)


def test_newer_format_and_garbled_structure_are_rejected(trained):
    path, _, _ = trained
    _rewrite_structure(path, lambda s: s.update(format_version=3))
    with pytest.raises(ValueError, match="format version 3, but this convforge reads versions up to 2"):
        load_checkpoint(path, make_net())
    _rewrite_structure(path, lambda s: s.update(format_version=2, format="something else"))
    with pytest.raises(ValueError, match="not a convforge checkpoint"):
        checkpoint_metadata(path)
    _rewrite_structure(
        path, lambda s: s.update(format="convforge.checkpoint", model={"0.weight": {"__tensor__": "gone"}})
    )
    with pytest.raises(ValueError, match="is corrupt: its structure names a tensor 'gone'"):
        load_checkpoint(path, make_net())


# ---- the .npz checkpoints of convforge 0.1 ----------------------------------------------
def _save_npz_checkpoint(path, model, optimizer, epoch, metadata):
    """The version-1 layout exactly as convforge 0.1's save_checkpoint wrote it."""
    arrays = {f"model/{k}": np.asarray(v) for k, v in model.state_dict().items()}
    state = {}
    for index, buffers in optimizer.state_dict()["state"].items():
        entry = {}
        for name, value in buffers.items():
            if isinstance(value, np.ndarray):
                arrays[f"optimizer/{index}/{name}"] = value
                entry[name] = {"array": f"optimizer/{index}/{name}"}
            else:
                entry[name] = value
        state[str(index)] = entry
    header = {
        "format": "convforge.checkpoint",
        "format_version": 1,
        "convforge_version": "0.1.0",
        "architecture": {"class": type(model).__name__, "repr": repr(model)},
        "parameters": [
            {"name": k, "shape": list(v.shape), "dtype": v.dtype.str} for k, v in model.state_dict().items()
        ],
        "optimizer": {
            "class": type(optimizer).__name__,
            "param_groups": optimizer.state_dict()["param_groups"],
            "state": state,
        },
        "epoch": epoch,
        "metadata": metadata,
    }
    arrays["__header__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    with open(path, "wb") as file:
        np.savez(file, **arrays)


def test_npz_checkpoints_of_convforge_0_1_still_load_with_a_deprecation_warning(tmp_path):
    model = make_net()
    optimizer = cf.optim.Adam(model.parameters(), lr=1e-2)
    train_steps(model, optimizer, 2)
    path = tmp_path / "model.npz"
    _save_npz_checkpoint(path, model, optimizer, 2, {"model": "lenet"})
    fresh, fresh_optimizer = make_net(seed=6), cf.optim.Adam(make_net(seed=6).parameters())
    fresh_optimizer = cf.optim.Adam(fresh.parameters())
    with pytest.warns(DeprecationWarning, match="0.1 .npz checkpoint"):
        assert load_checkpoint(path, fresh, fresh_optimizer) == {"model": "lenet"}
    assert_unchanged(snapshot(model, optimizer), fresh, fresh_optimizer)
    with pytest.warns(DeprecationWarning):
        assert checkpoint_info(path)["epoch"] == 2


def test_truncated_npz_checkpoint_is_rejected(tmp_path):
    model = make_net()
    optimizer = cf.optim.SGD(model.parameters(), lr=0.1)
    path = tmp_path / "model.npz"
    _save_npz_checkpoint(path, model, optimizer, 1, {})
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match="not a convforge checkpoint|truncated or corrupt"):
        load_checkpoint(path, make_net())


# ---- PyTorch interop ------------------------------------------------------------------
def _outputs_match(cf_model, torch_model):
    x = np.random.default_rng(0).normal(size=(2, 1, 8, 8)).astype(np.float32)
    cf_model.eval()
    torch_model.eval()
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(cf_model(cf.tensor(x)).array, expected, rtol=1e-5, atol=1e-5)


def _train_torch_batchnorm(torch_model):
    """Move the running statistics away from their initial values."""
    torch_model.train()
    with torch.no_grad():
        torch_model(torch.randn(4, 1, 8, 8))


def test_load_torch_state_dict_gives_torchs_outputs():
    torch_model = make_torch_net()
    _train_torch_batchnorm(torch_model)
    model = make_net(seed=9)
    load_torch_state_dict(model, torch_model.state_dict())  # torch tensors, one requiring grad
    _outputs_match(model, torch_model)
    load_torch_state_dict(make_net(), {k: v.numpy() for k, v in torch_model.state_dict().items()})  # arrays


def test_to_torch_state_dict_loads_into_torch():
    model = make_net(seed=4)
    torch_model = make_torch_net()
    exported = to_torch_state_dict(model)
    assert list(exported) == list(torch_model.state_dict())
    assert all(isinstance(v, np.ndarray) for v in exported.values())
    torch_model.load_state_dict({k: torch.from_numpy(v) for k, v in exported.items()})
    _outputs_match(model, torch_model)


def test_load_torch_state_dict_rejects_other_architectures_and_changes_nothing():
    torch_model = make_torch_net(hidden=5)
    model = make_net()
    before = snapshot(model)
    with pytest.raises(ValueError, match=r"shape mismatch 4.weight: given \(5, 108\), model \(6, 108\)"):
        load_torch_state_dict(model, torch_model.state_dict())
    state = make_torch_net().state_dict()
    del state["6.bias"]
    state["extra"] = torch.zeros(1)
    with pytest.raises(ValueError, match=r"missing keys \['6.bias'\], unexpected keys \['extra'\]"):
        load_torch_state_dict(model, state)
    assert_unchanged(before, model)
    load_torch_state_dict(model, state, strict=False)
    np.testing.assert_array_equal(model.state_dict()["6.weight"], state["6.weight"].numpy())


def test_the_library_never_imports_torch(tmp_path):
    code = (
        "import sys, numpy as np, convforge as cf\n"
        "model = cf.nn.Sequential(cf.nn.Linear(3, 2))\n"
        "opt = cf.optim.SGD(model.parameters(), lr=0.1)\n"
        f"cf.io.save_checkpoint(r'{tmp_path / 'c.npz'}', model, opt)\n"
        f"cf.io.load_checkpoint(r'{tmp_path / 'c.npz'}', model, opt)\n"
        "cf.io.load_torch_state_dict(model, cf.io.to_torch_state_dict(model))\n"
        "assert 'torch' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
