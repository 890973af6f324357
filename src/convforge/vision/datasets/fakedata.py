"""``torchvision.datasets.FakeData``: random images with random labels, reproducible per index."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence

from PIL import Image

from ... import random as cf_random
from .vision import VisionDataset


class FakeData(VisionDataset):
    """``size`` random PIL images of ``image_size`` (C, H, W) with labels in ``[0, num_classes)``.

    Sample ``i`` is drawn from a generator seeded ``i + random_offset`` (as torchvision
    seeds it), so it is the same at every access and does not disturb the default
    generator. The pixels are uniform uint8 values (torchvision maps normal draws to bytes).

    Parameters
    ----------
    size : int
        Number of samples.
    image_size : (C, H, W)
        C = 1 gives mode ``L`` images, 3 ``RGB``, 4 ``RGBA``.
    num_classes : int
    transform, target_transform : callable, optional
    random_offset : int
        Added to the index to seed each sample: datasets with different offsets differ.
    """

    def __init__(
        self,
        size: int = 1000,
        image_size: Sequence[int] = (3, 224, 224),
        num_classes: int = 10,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        random_offset: int = 0,
    ) -> None:
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 0:
            raise ValueError(f"FakeData: size must be a non-negative int, but got size={size!r}")
        if len(image_size) != 3 or image_size[0] not in (1, 3, 4) or min(image_size) < 1:
            raise ValueError(
                f"FakeData: image_size must be (C, H, W) with C in 1, 3, 4, but got {image_size!r}"
            )
        if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 1:
            raise ValueError(
                f"FakeData: num_classes must be a positive int, but got num_classes={num_classes!r}"
            )
        super().__init__(None, transform=transform, target_transform=target_transform)
        self.size, self.image_size = int(size), tuple(int(s) for s in image_size)
        self.num_classes, self.random_offset = int(num_classes), int(random_offset)

    def __getitem__(self, index: int):
        if not -self.size <= index < self.size:
            raise IndexError(f"{type(self).__name__} index out of range: {index} for {self.size} samples")
        rng = cf_random.Generator().manual_seed(index % self.size + self.random_offset).numpy
        channels, height, width = self.image_size
        pixels = rng.integers(0, 256, size=(height, width, channels), dtype="uint8")
        target = int(rng.integers(0, self.num_classes))
        image = Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels)
        return self._apply(image, target)

    def __len__(self) -> int:
        return self.size
