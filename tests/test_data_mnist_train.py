"""`convforge train --dataset mnist`: LeNet-5 on the bundled MNIST sample at 28x28."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from convforge import cli, data


def _accuracy(output: str) -> float:
    return float(re.search(r"test accuracy: ([\d.]+)%", output).group(1))


def test_train_dataset_mnist_trains_lenet_on_the_28x28_sample(tmp_path, capsys):
    code = cli.main(["train", "--dataset", "mnist", "--epochs", "1", "--out", str(tmp_path), "--no-progress"])
    output = capsys.readouterr().out
    assert code == 0
    assert "4000 train / 1000 test images of 1x28x28" in output and str(data.MNIST_SAMPLE_FILES) in output
    assert _accuracy(output) >= 85.0  # one epoch; the full default run is the slow test below
    checkpoint = re.search(r"saved (\S+),", output).group(1)
    assert Path(checkpoint).is_file() and Path(checkpoint).parent == tmp_path


def test_train_dataset_mnist_excludes_data_dir(tmp_path, capsys):
    code = cli.main(["train", "--dataset", "mnist", "--data", str(tmp_path), "--epochs", "1"])
    assert code != 0 and "exclude each other" in capsys.readouterr().err


@pytest.mark.slow
def test_train_dataset_mnist_reaches_97_percent_on_the_held_out_images(tmp_path, capsys):
    code = cli.main(["train", "--dataset", "mnist", "--out", str(tmp_path), "--no-progress"])
    assert code == 0 and _accuracy(capsys.readouterr().out) >= 97.0
