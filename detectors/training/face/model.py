"""MesoNet (Afchar et al., WIFS 2018): Meso-4 and MesoInception-4 for 256x256 RGB crops in [0,1], one logit out."""

from __future__ import annotations

import torch
from torch import nn


class InceptionLayer(nn.Module):
    def __init__(self, cin: int, a: int, b: int, c: int, d: int) -> None:
        super().__init__()
        self.b1 = nn.Conv2d(cin, a, 1)
        self.b2 = nn.Sequential(nn.Conv2d(cin, b, 1), nn.ReLU(inplace=True), nn.Conv2d(b, b, 3, padding=1))
        self.b3 = nn.Sequential(nn.Conv2d(cin, c, 1), nn.ReLU(inplace=True), nn.Conv2d(c, c, 3, padding=2, dilation=2))
        self.b4 = nn.Sequential(nn.Conv2d(cin, d, 1), nn.ReLU(inplace=True), nn.Conv2d(d, d, 3, padding=3, dilation=3))
        self.out_channels = a + b + c + d
        self.bn = nn.BatchNorm2d(self.out_channels)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], dim=1)
        return self.pool(self.bn(torch.relu(y)))


class MesoInception4(nn.Module):
    """`width` multiplies every channel count of the original network (width=1 is the paper's model)."""

    def __init__(self, width: int = 1) -> None:
        super().__init__()
        w = width
        self.inc1 = InceptionLayer(3, 1 * w, 4 * w, 4 * w, 2 * w)
        self.inc2 = InceptionLayer(self.inc1.out_channels, 2 * w, 4 * w, 4 * w, 2 * w)
        self.conv3 = nn.Sequential(
            nn.Conv2d(self.inc2.out_channels, 16 * w, 5, padding=2), nn.ReLU(inplace=True), nn.BatchNorm2d(16 * w),
            nn.MaxPool2d(2))
        self.conv4 = nn.Sequential(
            nn.Conv2d(16 * w, 16 * w, 5, padding=2), nn.ReLU(inplace=True), nn.BatchNorm2d(16 * w),
            nn.MaxPool2d(4))
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.5), nn.Linear(16 * w * 8 * 8, 16), nn.LeakyReLU(0.1), nn.Dropout(0.5),
            nn.Linear(16, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [batch, 3, 256, 256] RGB in [0, 1]
        x = x - 0.5
        return self.head(self.conv4(self.conv3(self.inc2(self.inc1(x)))))


class Meso4(nn.Module):
    """Meso-4: four conv blocks and a small dense head. Used by default: PyTorch's CPU dilated
    convolutions (MesoInception-4) train about 4x slower per image here."""

    def __init__(self) -> None:
        super().__init__()

        def block(cin: int, cout: int, k: int, pool: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2), nn.ReLU(inplace=True),
                                 nn.BatchNorm2d(cout), nn.MaxPool2d(pool))

        self.features = nn.Sequential(block(3, 8, 3, 2), block(8, 8, 5, 2), block(8, 16, 5, 2), block(16, 16, 5, 4))
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.5), nn.Linear(16 * 8 * 8, 16), nn.LeakyReLU(0.1), nn.Dropout(0.5),
            nn.Linear(16, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [batch, 3, 256, 256] RGB in [0, 1]
        return self.head(self.features(x - 0.5))


def build(arch: str) -> nn.Module:
    if arch == "meso4":
        return Meso4()
    if arch == "mesoinception4":
        return MesoInception4()
    raise ValueError(f"unknown arch {arch}")
