"""cf.io: checkpoints (one .npz with a JSON header) and PyTorch state-dict interop."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

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


def test_checkpoint_is_one_npz_at_exactly_the_path_with_a_json_header(trained):
    path, model, _ = trained
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.ckpt"]  # no suffix, no leftovers
    with np.load(path, allow_pickle=False) as archive:
        header = json.loads(archive["__header__"].tobytes())
    assert header == checkpoint_info(path)
    assert header["format_version"] == 1 and header["convforge_version"] == cf.__version__
    assert header["architecture"] == {"class": "Sequential", "repr": repr(model)}
    assert [(p["name"], tuple(p["shape"])) for p in header["parameters"]] == [
        (k, v.shape) for k, v in model.state_dict().items()
    ]
    assert header["epoch"] == 3 and header["optimizer"]["class"] == "Adam"
    assert checkpoint_metadata(path) == {"accuracy": 0.97, "note": "test"}


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
    with pytest.raises(TypeError, match="metadata must hold only JSON values"):
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


def test_corrupt_bytes_are_detected(trained):
    path, _, _ = trained
    content = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        member = archive.getinfo("model/4.weight.npy")
    middle = member.header_offset + 200  # inside the stored array data
    content[middle] ^= 0xFF
    path.write_bytes(bytes(content))
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_checkpoint(path, make_net())


def test_files_that_are_not_checkpoints_are_rejected(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    plain_npz = tmp_path / "arrays.npz"
    np.savez(plain_npz, a=np.ones(3))
    npy = tmp_path / "array.npy"
    np.save(npy, np.ones(3))
    for path, match in [
        (text, "not a convforge checkpoint"),
        (plain_npz, "not a convforge checkpoint: an .npz of 1 arrays without a header"),
        (npy, "not a convforge checkpoint"),
    ]:
        with pytest.raises(ValueError, match=match) as info:
            load_checkpoint(path, make_net())
        assert str(path) in str(info.value)
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.npz", make_net())


def _rewrite_header(path, change):
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    header = json.loads(arrays["__header__"].tobytes())
    change(header)
    arrays["__header__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    with open(path, "wb") as file:
        np.savez(file, **arrays)


def test_newer_format_and_inconsistent_header_are_rejected(trained):
    path, _, _ = trained
    _rewrite_header(path, lambda h: h.update(format_version=2))
    with pytest.raises(ValueError, match="format version 2, but this convforge reads versions up to 1"):
        load_checkpoint(path, make_net())
    _rewrite_header(path, lambda h: h.update(format_version=1) or h["parameters"][0].update(shape=[9]))
    with pytest.raises(ValueError, match="is corrupt: model/0.weight"):
        load_checkpoint(path, make_net())
    _rewrite_header(path, lambda h: h.update(format="something else"))
    with pytest.raises(ValueError, match="not a convforge checkpoint"):
        checkpoint_metadata(path)


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
