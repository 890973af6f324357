"""PyTorch programs written the way the tutorials write them run under ``convforge run`` (P1).

Each script in ``tests/torch_scripts/`` is plain PyTorch code. It runs first with PyTorch,
which draws the data and the initial weights and saves them as ``.npz``, then unchanged under
``convforge run``, which loads the same files: every number the two runs print must agree
(the first losses to float32 round-off, later steps of training more loosely).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPTS = Path(__file__).parent / "torch_scripts"
NUMBER = re.compile(r"-?\d+\.\d+(?:e[-+]?\d+)?")


def run(args, cwd, env_extra=None):
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600, env=env)


def run_torch(script, work):
    return run([sys.executable, str(SCRIPTS / script), "--work", str(work)], cwd=SCRIPTS)


def run_convforge(script, *args, cwd=SCRIPTS):
    return run([sys.executable, "-m", "convforge", "run", str(script), *args], cwd=cwd)


def numbers(text):
    return [[float(v) for v in NUMBER.findall(line)] for line in text.splitlines() if NUMBER.search(line)]


@pytest.mark.parametrize(
    "script",
    ["lenet_classifier.py", "dcgan_step.py", "scratch_batchnorm.py", "lazy_lenet.py", "d2l_resnet_nin.py"],
)
def test_tutorial_script_prints_torchs_numbers_under_convforge_run(script, tmp_path):
    theirs = run_torch(script, tmp_path)
    assert theirs.returncode == 0, theirs.stderr
    ours = run_convforge(SCRIPTS / script, "--work", str(tmp_path))
    assert ours.returncode == 0, ours.stderr
    ours_numbers, theirs_numbers = numbers(ours.stdout), numbers(theirs.stdout)
    assert len(ours_numbers) == len(theirs_numbers) > 0, (ours.stdout, theirs.stdout)
    first_ours, first_theirs = ours_numbers[0], theirs_numbers[0]
    np.testing.assert_allclose(first_ours, first_theirs, rtol=2e-5, atol=1e-6)
    for line_ours, line_theirs in zip(ours_numbers, theirs_numbers):
        np.testing.assert_allclose(line_ours, line_theirs, rtol=2e-3, atol=1e-4)
    # the non-numeric lines (layer names, shapes, accuracy) agree too
    assert NUMBER.sub("#", ours.stdout) == NUMBER.sub("#", theirs.stdout)


def write_idx(path, array):
    """An IDX file (MNIST's format): magic, dims, then the bytes."""
    codes = {np.uint8: 0x08}
    header = bytes([0, 0, codes[array.dtype.type], array.ndim])
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + dims + array.tobytes())


def test_official_mnist_example_runs_to_the_end(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, count in (("train", 256), ("t10k", 64)):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (count, 28, 28), dtype=np.uint8))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, count, dtype=np.uint8))
    args = ["--epochs", "1", "--batch-size", "64", "--test-batch-size", "64", "--data", str(tmp_path)]
    ours = run_convforge(SCRIPTS / "mnist_example.py", *args, "--log-interval", "2", cwd=tmp_path)
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.count("Train Epoch: 1") == 2
    assert re.search(r"Test set: Average loss: \d+\.\d+, Accuracy: \d+/64", ours.stdout)


@pytest.mark.parametrize(
    ("source", "line", "name"),
    [
        ("import torch\nx = torch.zeros(2)\ntorch.frobnicate(x)\n", 3, "torch.frobnicate"),
        ("from torch.nn import Frobnicate\n", 1, "torch.nn.Frobnicate"),
        ("import torch.distributed as dist\n", 1, "torch.distributed"),
        ("import torch\n\nx = torch.zeros(2)\nx.frobnicate()\n", 4, "Tensor.frobnicate"),
    ],
)
def test_missing_name_stops_the_run_with_one_line(tmp_path, source, line, name):
    script = tmp_path / "script.py"
    script.write_text(source)
    result = run_convforge(script, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == f"{script}:{line}: {name} is not provided by convforge"


def test_script_arguments_exit_status_and_main_guard(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(
        "import sys\nimport torch\nif __name__ == '__main__':\n    print(sys.argv[1:])\n    sys.exit(3)\n"
    )
    result = run_convforge(script, "--flag", "value", cwd=tmp_path)
    assert result.returncode == 3
    assert result.stdout.strip() == "['--flag', 'value']"


def test_run_refuses_a_missing_script(tmp_path):
    result = run_convforge(tmp_path / "absent.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "no such script" in result.stderr


def test_run_without_a_script_says_how_to_call_it(tmp_path):
    result = run([sys.executable, "-m", "convforge", "run"], cwd=tmp_path)
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "convforge run: error: give the script to run: convforge run SCRIPT [ARGS...]"
    )


def test_a_scripts_own_error_prints_its_traceback_from_the_script_on(tmp_path):
    script = tmp_path / "script.py"
    script.write_text("import torch\n\n\ndef boom():\n    raise ValueError('boom')\n\n\nboom()\n")
    result = run_convforge(script, cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[1] == f'  File "{script}", line 8, in <module>'
    assert lines[-1] == "ValueError: boom"
    assert "convforge" not in result.stderr
