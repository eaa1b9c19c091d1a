"""The PyTorch twin of a barenet ``Sequential``: the same layers as ``torch.nn`` modules, the
weights, biases and batch-norm statistics copied across, so the two compute the same function.

Covered: Rescale, Reshape, Conv2D, BatchNorm1D/2D, ReLU, MaxPool2D, Flatten, Dropout, Dense;
a final Softmax is left out (the twin gives logits, as ``torch.nn.CrossEntropyLoss`` wants).
"""

from __future__ import annotations

import numpy as np

from barenet import Sequential
from barenet.layers import (
    BatchNorm1D,
    BatchNorm2D,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPool2D,
    ReLU,
    Rescale,
    Reshape,
    Softmax,
)


def torch_twin(model: Sequential):
    """A ``torch.nn.Sequential`` computing what ``model`` computes before its softmax, from
    copies of its current parameters (a later change to either leaves the other alone)."""
    import torch
    from torch import nn

    class Scale(nn.Module):  # barenet's Rescale: y = s·x + o
        def __init__(self, scale: float, offset: float) -> None:
            super().__init__()
            self.scale, self.offset = scale, offset

        def forward(self, x):
            x = x * self.scale
            return x + self.offset if self.offset else x

    def copy(values: np.ndarray):
        return torch.from_numpy(np.array(values, dtype=np.float32))

    modules = []
    layers = model.layers[:-1] if isinstance(model.layers[-1], Softmax) else model.layers
    for layer in layers:
        if isinstance(layer, Rescale):
            modules.append(Scale(layer.scale, layer.offset))
        elif isinstance(layer, Reshape):
            modules.append(nn.Unflatten(1, layer.shape))
        elif isinstance(layer, Conv2D):
            if isinstance(layer.padding, str):
                raise NotImplementedError("the twin takes numeric convolution padding only")
            module = nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride,
                               layer.padding, bias=layer.has_bias)
            module.weight.data = copy(layer.weight.value)
            if layer.has_bias:
                module.bias.data = copy(layer.bias.value)
            modules.append(module)
        elif isinstance(layer, (BatchNorm1D, BatchNorm2D)):
            kind = nn.BatchNorm2d if isinstance(layer, BatchNorm2D) else nn.BatchNorm1d
            module = kind(layer.num_features, eps=layer.eps, momentum=layer.momentum)
            module.weight.data, module.bias.data = copy(layer.weight.value), copy(layer.bias.value)
            module.running_mean.data = copy(layer.running_mean)
            module.running_var.data = copy(layer.running_var)
            modules.append(module)
        elif isinstance(layer, ReLU):
            modules.append(nn.ReLU())
        elif isinstance(layer, MaxPool2D):
            modules.append(nn.MaxPool2d(layer.kernel_size, layer.stride, layer.padding))
        elif isinstance(layer, Flatten):
            modules.append(nn.Flatten())
        elif isinstance(layer, Dropout):
            modules.append(nn.Dropout(layer.p))
        elif isinstance(layer, Dense):  # barenet's W is (in, out), torch's (out, in)
            module = nn.Linear(layer.in_features, layer.out_features)
            module.weight.data = copy(layer.weight.value.T)
            module.bias.data = copy(layer.bias.value)
            modules.append(module)
        else:
            raise NotImplementedError(f"no PyTorch twin for {type(layer).__name__}")
    return nn.Sequential(*modules)
