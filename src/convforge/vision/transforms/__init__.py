"""``torchvision.transforms`` for convforge: PIL images and ``(..., C, H, W)`` tensor images.

``functional`` holds the operations (``to_tensor``, ``normalize``, ``resize``, ``crop``, ``resized_crop``,
``center_crop``, ``pad``, ``hflip``, ``vflip``, ``rgb_to_grayscale``, ``to_pil_image``);
the classes here wrap them as torchvision's do.
"""

from . import functional
from .functional import InterpolationMode
from .transforms import (
    CenterCrop,
    Compose,
    Grayscale,
    Lambda,
    Normalize,
    Pad,
    PILToTensor,
    RandomCrop,
    RandomHorizontalFlip,
    RandomResizedCrop,
    RandomVerticalFlip,
    Resize,
    ToPILImage,
    ToTensor,
)

__all__ = [
    "CenterCrop",
    "Compose",
    "Grayscale",
    "InterpolationMode",
    "Lambda",
    "Normalize",
    "PILToTensor",
    "Pad",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RandomResizedCrop",
    "RandomVerticalFlip",
    "Resize",
    "ToPILImage",
    "ToTensor",
    "functional",
]
