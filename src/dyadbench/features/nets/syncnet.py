"""SyncNet (Chung & Zisserman 2016) as in joonson/syncnet_python's ``SyncNetModel.S``.

Audio stream: MFCC (1, 13, 20) = 0.2 s at 100 Hz. Lip stream: 5 RGB frames of 224x224,
(3, 5, 224, 224), 0..255 floats. Both map to 1024-d; their Euclidean distance is small when in
sync. Module names follow the checkpoint ``syncnet_v2.model`` (netcnnaud, netfcaud, netcnnlip,
netfclip) so it loads strictly.
"""

from __future__ import annotations

import torch
from torch import nn


def _bn_relu_2d(c):
    return [nn.BatchNorm2d(c), nn.ReLU(inplace=True)]


def _bn_relu_3d(c):
    return [nn.BatchNorm3d(c), nn.ReLU(inplace=True)]


class SyncNet(nn.Module):
    def __init__(self, embedding_dim: int = 1024):
        super().__init__()
        self.netcnnaud = nn.Sequential(
            nn.Conv2d(1, 64, 3, 1, 1), *_bn_relu_2d(64), nn.MaxPool2d(1, 1),
            nn.Conv2d(64, 192, 3, 1, 1), *_bn_relu_2d(192), nn.MaxPool2d(3, (1, 2)),
            nn.Conv2d(192, 384, 3, padding=1), *_bn_relu_2d(384),
            nn.Conv2d(384, 256, 3, padding=1), *_bn_relu_2d(256),
            nn.Conv2d(256, 256, 3, padding=1), *_bn_relu_2d(256), nn.MaxPool2d(3, 2),
            nn.Conv2d(256, 512, (5, 4), padding=0), nn.BatchNorm2d(512), nn.ReLU(),
        )
        self.netfcaud = nn.Sequential(nn.Linear(512, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, embedding_dim))
        self.netfclip = nn.Sequential(nn.Linear(512, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, embedding_dim))
        self.netcnnlip = nn.Sequential(
            nn.Conv3d(3, 96, (5, 7, 7), (1, 2, 2), 0), *_bn_relu_3d(96), nn.MaxPool3d((1, 3, 3), (1, 2, 2)),
            nn.Conv3d(96, 256, (1, 5, 5), (1, 2, 2), (0, 1, 1)), *_bn_relu_3d(256), nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)),
            nn.Conv3d(256, 256, (1, 3, 3), padding=(0, 1, 1)), *_bn_relu_3d(256),
            nn.Conv3d(256, 256, (1, 3, 3), padding=(0, 1, 1)), *_bn_relu_3d(256),
            nn.Conv3d(256, 256, (1, 3, 3), padding=(0, 1, 1)), *_bn_relu_3d(256), nn.MaxPool3d((1, 3, 3), (1, 2, 2)),
            nn.Conv3d(256, 512, (1, 6, 6), padding=0), *_bn_relu_3d(512),
        )

    def forward_aud(self, mfcc: torch.Tensor) -> torch.Tensor:
        """(N, 1, 13, 20) MFCC windows -> (N, 1024)."""
        return self.netfcaud(self.netcnnaud(mfcc).flatten(1))

    def forward_lip(self, frames: torch.Tensor) -> torch.Tensor:
        """(N, 3, 5, 224, 224) RGB windows -> (N, 1024)."""
        return self.netfclip(self.netcnnlip(frames).flatten(1))
