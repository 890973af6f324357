"""LeNet-5 (LeCun et al., 1998), adapted to the input size."""

from __future__ import annotations

from .. import nn
from ..spec import conv_out_size


class LeNet5(nn.Module):
    """Two convolution + pooling stages, then three fully connected layers.

    The classic layout for a 28x28 input: conv 5x5 (padding 2) -> 6 maps, pool /2, conv 5x5
    -> 16 maps, pool /2, 16*5*5 -> 120 -> 84 -> ``num_classes``. For inputs smaller than 20
    pixels the second convolution is padded too (an 8x8 digit then gives 16*2*2 features),
    so every stage keeps at least one pixel.

    Parameters
    ----------
    num_classes : int
        Size of the output layer.
    in_channels : int
        Image channels (1 for gray digits).
    input_size : int
        Height = width of the input images.
    activation : {'relu', 'tanh', 'sigmoid'}
        Nonlinearity after each hidden layer (LeCun used a scaled tanh; d2l uses sigmoid).

    Shape: (N, in_channels, input_size, input_size) -> (N, num_classes)
    """

    ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}

    def __init__(
        self, num_classes: int = 10, in_channels: int = 1, input_size: int = 28, activation: str = "relu"
    ) -> None:
        super().__init__()
        if activation not in self.ACTIVATIONS:
            raise ValueError(
                f"LeNet5: activation must be one of {', '.join(self.ACTIVATIONS)}, but got {activation!r}"
            )
        if input_size < 4:
            raise ValueError(f"LeNet5: input_size must be at least 4, but got input_size={input_size}")
        act = self.ACTIVATIONS[activation]
        pad2 = 0 if input_size // 2 >= 9 else 2
        size = conv_out_size(input_size, 5, 1, (2, 2), 1) // 2
        size = conv_out_size(size, 5, 1, (pad2, pad2), 1) // 2
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5, padding=2),
            act(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, kernel_size=5, padding=pad2),
            act(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * size * size, 120),
            act(),
            nn.Linear(120, 84),
            act(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))
