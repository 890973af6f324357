"""cf.load on torch.save files (.pth/.pt), zip and legacy formats, without torch and without running pickles.

The files are written here by torch 2.13; the reading runs in a subprocess where importing
torch fails (``sys.modules['torch'] = None``), so a hidden torch import would fail the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import convforge as cf

FORMATS = {"zip": True, "legacy": False}


def torch_objects():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.Linear(4, 3))
    base = torch.arange(24.0).reshape(4, 6)
    return {
        "state_dict": model.state_dict(),
        "epoch": 7,
        "nested": {"lr": 0.1, "betas": (0.9, 0.999), "names": ["a", "b"], "flag": True, "none": None},
        "half": torch.randn(3).half(),
        "bfloat": torch.randn(2, 2).bfloat16(),
        "double": torch.randn(2).double(),
        "long": torch.tensor([1, -2, 3]),
        "int": torch.tensor([4, 5], dtype=torch.int32),
        "uint8": torch.tensor([250, 3], dtype=torch.uint8),
        "bool": torch.tensor([True, False]),
        "base": base,
        "transposed": base.t(),  # strided view of a shared storage
        "window": base[1:3, 2:5],  # offset and strides
        "every_other": base[:, ::2],
        "scalar": torch.tensor(3.5),
        "parameter": torch.nn.Parameter(torch.ones(2, 2)),
    }


def expected_arrays(obj, prefix=""):
    """Flat {path: ndarray} of every tensor in obj (bfloat16 as float32)."""
    out = {}
    if isinstance(obj, torch.Tensor):
        value = obj.detach()
        out[prefix] = (value.float() if value.dtype == torch.bfloat16 else value).numpy()
    elif isinstance(obj, dict):
        for key, item in obj.items():
            out.update(expected_arrays(item, f"{prefix}/{key}"))
    return out


def run_without_torch(code: str, tmp_path) -> dict:
    """Run ``code`` in a Python where ``import torch`` fails; it prints one JSON line."""
    script = "import sys\nsys.modules['torch'] = None\n" + textwrap.dedent(code)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("fmt", FORMATS)
def test_torch_save_files_load_without_torch(tmp_path, fmt):
    obj = torch_objects()
    path = tmp_path / "model.pth"
    torch.save(obj, path, _use_new_zipfile_serialization=FORMATS[fmt])
    np.savez(tmp_path / "expected.npz", **{k.replace("/", "|"): v for k, v in expected_arrays(obj).items()})
    report = run_without_torch(
        f"""
        import json, warnings, numpy as np, convforge as cf
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            loaded = cf.load({str(path)!r})
        expected = np.load("expected.npz")
        def get(path):
            node = loaded
            for part in path.split("|")[1:]:
                node = node[part]
            return node
        mismatched = [k for k in expected.files
                      if not (isinstance(get(k), cf.Tensor) and get(k).dtype == expected[k].dtype
                              and np.array_equal(get(k).array, expected[k]))]
        print(json.dumps({{
            "mismatched": mismatched,
            "epoch": loaded["epoch"],
            "nested": [loaded["nested"]["lr"], list(loaded["nested"]["betas"]), loaded["nested"]["names"],
                       loaded["nested"]["flag"], loaded["nested"]["none"]],
            "keys": list(loaded["state_dict"]),
            "ordered": type(loaded["state_dict"]).__name__,
            "warnings": [str(w.message) for w in caught],
            "torch_loaded": "torch" in sys.modules and sys.modules["torch"] is not None,
        }}))
        """,
        tmp_path,
    )
    assert report["mismatched"] == []
    assert report["epoch"] == 7
    assert report["nested"] == [0.1, [0.9, 0.999], ["a", "b"], True, None]
    assert report["keys"] == list(obj["state_dict"]) and report["ordered"] == "OrderedDict"
    assert any("bfloat16" in w and "float32" in w for w in report["warnings"])
    assert not report["torch_loaded"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_torch_state_dict_file_loads_into_a_convforge_model(tmp_path, fmt):
    torch.manual_seed(1)
    torch_model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 3, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(12, 2)
    )
    torch.save(
        {"state_dict": torch_model.state_dict(), "epoch": 1},
        tmp_path / "c.pt",
        _use_new_zipfile_serialization=FORMATS[fmt],
    )
    model = cf.nn.Sequential(cf.nn.Conv2d(1, 3, 3), cf.nn.ReLU(), cf.nn.Flatten(), cf.nn.Linear(12, 2))
    model.load_state_dict(cf.load(tmp_path / "c.pt")["state_dict"])
    x = np.random.default_rng(0).normal(size=(2, 1, 4, 4)).astype(np.float32)
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(cf.tensor(x)).array, expected, rtol=1e-5, atol=1e-6)


class _Exploit:
    """Unpickling this would call os.system: the allow-list must refuse it before it runs."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_that_would_run_code_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"weights": torch.ones(2), "payload": _Exploit(str(marker))}, tmp_path / "evil.pth")
    with open(tmp_path / "evil_legacy.pth", "wb") as file:
        torch.save({"payload": _Exploit(str(marker))}, file, _use_new_zipfile_serialization=False)
    for name in ("evil.pth", "evil_legacy.pth"):
        with pytest.raises(ValueError, match=r"refusing to unpickle the global (posix|os)\.system"):
            cf.load(tmp_path / name)
    assert not marker.exists()


@pytest.mark.parametrize(
    "payload, global_name",
    [
        (print, "(builtins|__builtin__).print"),
        (torch.nn.Linear(2, 2), "torch.nn.modules.linear.Linear"),
        (eval, "(builtins|__builtin__).eval"),
    ],
)
def test_any_global_outside_the_allow_list_is_named_in_the_error(tmp_path, payload, global_name):
    torch.save({"x": payload}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match=f"refusing to unpickle the global {global_name}"):
        cf.load(tmp_path / "other.pth")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("keep", [0.3, 0.8, 0.97])
def test_truncated_pth_files_raise_a_clear_error(tmp_path, fmt, keep):
    path = tmp_path / "cut.pth"
    torch.save(
        {"w": torch.randn(64, 64), "b": torch.randn(64)}, path, _use_new_zipfile_serialization=FORMATS[fmt]
    )
    content = path.read_bytes()
    path.write_bytes(content[: int(len(content) * keep)])
    with pytest.raises(ValueError, match="truncated or corrupt|truncated|neither"):
        cf.load(path)


def test_load_accepts_torch_load_keywords(tmp_path):
    torch.save({"w": torch.ones(1)}, tmp_path / "k.pth")
    loaded = cf.load(tmp_path / "k.pth", map_location="cpu", weights_only=True)
    np.testing.assert_array_equal(loaded["w"].array, [1.0])


def test_sizes_devices_dtypes_and_bytes_in_a_checkpoint_load_as_plain_values(tmp_path):
    torch.save(
        {
            "size": torch.Size([2, 3]),
            "device": torch.device("cuda", 1),
            "dtype": torch.float16,
            "raw": b"\x00ab",
        },
        tmp_path / "misc.pth",
    )
    loaded = cf.load(tmp_path / "misc.pth")
    assert loaded == {"size": (2, 3), "device": "cuda:1", "dtype": np.dtype("float16"), "raw": b"\x00ab"}
