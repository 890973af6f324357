"""`convforge train | evaluate | predict`: the main job, as a user runs it."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from convforge import cli, data


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One full default training run, shared by the tests that need a checkpoint."""
    out = tmp_path_factory.mktemp("run")
    code = cli.main(["train", "--out", str(out), "--no-progress"])
    assert code == 0
    return out


def test_train_reaches_97_percent_on_the_bundled_digits(trained, capsys):
    code = cli.main(["evaluate", str(trained / "model.safetensors")])
    assert code == 0
    accuracy = float(re.search(r"accuracy ([\d.]+)%", capsys.readouterr().out).group(1))
    assert accuracy >= 97.0


def test_train_writes_checkpoint_and_three_pictures(trained):
    for name in ("model.safetensors", "curves.png", "confusion.png", "kernels.png"):
        assert (trained / name).stat().st_size > 0, name
    for name in ("curves.png", "confusion.png", "kernels.png"):
        with Image.open(trained / name) as image:
            pixels = np.asarray(image.convert("L"))
        assert pixels.std() > 10, f"{name} looks blank"


def test_train_prints_progress_and_accuracy(tmp_path, capsys):
    code = cli.main(["train", "--epochs", "1", "--out", str(tmp_path), "--seed", "3"])
    assert code == 0
    captured = capsys.readouterr()
    assert "epoch 1/1" in captured.err  # tqdm writes to stderr
    assert re.search(r"test accuracy: [\d.]+%", captured.out)


def test_predict_classifies_digit_images_from_the_test_set(trained, tmp_path, capsys):
    _, _, test_x, test_y = data.digits_split(test_fraction=0.2, seed=0)
    paths = []
    for i in range(20):
        # dark ink on white, 64x64, as a user's scan would be: predict must invert and resize
        pixels = (255 * (1 - np.kron(test_x[i, 0], np.ones((8, 8))))).astype(np.uint8)
        path = tmp_path / f"digit{i}.png"
        Image.fromarray(pixels).save(path)
        paths.append(str(path))
    assert cli.main(["predict", str(trained / "model.safetensors"), *paths]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    predicted = [int(re.search(r": (\d+) \(probability", line).group(1)) for line in lines]
    assert np.mean(np.array(predicted) == test_y[:20]) >= 0.9


def test_checkpoint_metadata_records_how_to_rebuild_the_model(trained):
    from convforge import io

    metadata = io.checkpoint_metadata(trained / "model.safetensors")
    assert metadata["model"] == "lenet"
    assert metadata["input_size"] == 16  # the 8x8 digits are shown upscaled 2x
    assert metadata["upscale"] == 2
    assert metadata["test_accuracy"] >= 0.97
    json.dumps(metadata)  # plain JSON values only


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--epochs", "0"], "positive integer"),
        (["train", "--model", "alexnet"], "invalid choice"),
        (["train", "--batch-size", "x"], "positive integer"),
        (["train", "--lr", "-1"], "positive number"),
    ],
)
def test_bad_arguments_exit_2_with_a_usage_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["evaluate", "missing.npz"], "does not exist"),
        (["train", "--data", "no/such/dir", "--epochs", "1"], "not a directory"),
        (["train", "--device", "cuda", "--epochs", "1"], "computes on the CPU only"),
        (["train", "--device", "tpu", "--epochs", "1"], "device type must be one of cpu, cuda"),
    ],
)
def test_runtime_errors_are_one_line_without_traceback(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_evaluate_refuses_data_of_another_image_size(trained, tmp_path, capsys):
    rng = np.random.default_rng(0)
    for split, count in (("train", 4), ("t10k", 3)):
        data.write_idx(
            tmp_path / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (count, 28, 28), np.uint8)
        )
        data.write_idx(tmp_path / f"{split}-labels-idx1-ubyte", rng.integers(0, 10, count, np.uint8))
    assert cli.main(["evaluate", str(trained / "model.safetensors"), "--data", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "(1, 28, 28)" in err and "(1, 16, 16)" in err
    assert len(err.strip().splitlines()) == 1


def test_predict_reports_an_unreadable_image(trained, tmp_path, capsys):
    bad = tmp_path / "not-an-image.png"
    bad.write_text("hello")
    assert cli.main(["predict", str(trained / "model.safetensors"), str(bad)]) == 1
    assert "could not be read" in capsys.readouterr().err


def test_console_script_entry_point_shows_help():
    result = subprocess.run(
        [sys.executable, "-m", "convforge", "train", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    for option in ("--epochs", "--batch-size", "--lr", "--optimizer", "--model", "--data", "--seed", "--out"):
        assert option in result.stdout
