"""What every command module shares: the one-line error and the argument types."""

from __future__ import annotations

import argparse

import numpy as np


class CommandError(Exception):
    """A problem to report as one line, without a traceback."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, but got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, but got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number, but got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, but got {value}")
    return value


def _sizes(text: str) -> int | tuple[int, ...]:
    """``3`` -> 3, ``3x5`` -> (3, 5): one value for every dimension, or one per dimension."""
    try:
        values = tuple(int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be an integer or integers joined by 'x' (3x5), but got {text!r}"
        ) from None
    return values[0] if len(values) == 1 else values


def _shape(text: str) -> tuple[int, ...]:
    value = _sizes(text)
    return value if isinstance(value, tuple) else (value,)


def _padding(text: str):
    return text if text in ("same", "valid") else _sizes(text)


def _matrix(text: str) -> np.ndarray:
    """A .npy file, or numbers with rows separated by ';' (``"0 1 2; 3 4 5"``)."""
    if text.endswith(".npy"):
        try:
            return np.load(text, allow_pickle=False).astype(np.float64)
        except (OSError, ValueError) as error:
            raise argparse.ArgumentTypeError(f"cannot read {text!r} as a .npy array: {error}") from None
    rows = [row.replace(",", " ").split() for row in text.replace("\n", ";").split(";") if row.strip()]
    if not rows or len({len(row) for row in rows}) != 1:
        raise argparse.ArgumentTypeError(f"rows must all have the same length, but got {text!r}")
    try:
        matrix = np.array([[float(v) for v in row] for row in rows])
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be numbers with rows separated by ';', but got {text!r}"
        ) from None
    return matrix
