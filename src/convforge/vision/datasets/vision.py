"""``VisionDataset``: what torchvision's datasets share (root, the transforms, the repr)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ...data import Dataset


class VisionDataset(Dataset):
    """Base of the image datasets: ``root``, ``transform`` (image) and ``target_transform``.

    Parameters
    ----------
    root : str or PathLike
        The directory the dataset lives under.
    transforms : callable, optional
        Takes ``(image, target)`` and returns both; exclusive with the other two.
    transform, target_transform : callable, optional
        Applied to the image and to the target of each sample.
    """

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        transforms: Callable | None = None,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
    ) -> None:
        self.root = Path(os.path.expanduser(root)) if root is not None else None
        if transforms is not None and (transform is not None or target_transform is not None):
            raise ValueError("Only transforms or transform/target_transform can be passed as argument")
        self.transform = transform
        self.target_transform = target_transform
        self.transforms = transforms

    def _apply(self, image, target):
        if self.transforms is not None:
            return self.transforms(image, target)
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}"]
        if self.root is not None:
            lines.append(f"    Root location: {self.root}")
        lines += [f"    {line}" for line in self.extra_repr().splitlines()]
        if self.transform is not None:
            lines.append(f"    Transform: {self.transform!r}")
        if self.target_transform is not None:
            lines.append(f"    Target transform: {self.target_transform!r}")
        return "\n".join(lines)
