"""Small temporal models for the learned baselines, and the normalisation they are trained with."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn


@dataclass
class Normalizer:
    """Per-dimension mean and std of the target motion and of the audio features (train split only)."""

    motion_mean: np.ndarray
    motion_std: np.ndarray
    audio_mean: np.ndarray
    audio_std: np.ndarray

    @classmethod
    def fit(cls, items) -> Normalizer:
        """From ``ItemArrays`` of the train split: valid target frames, every audio frame (float64 sums)."""
        m_n, m_s, m_ss = 0, 0.0, 0.0
        a_n, a_s, a_ss = 0, 0.0, 0.0
        for it in items:
            x = it.target[it.target_valid].astype(np.float64)
            m_n, m_s, m_ss = m_n + len(x), m_s + x.sum(0), m_ss + (x * x).sum(0)
            a = it.target_audio.astype(np.float64)
            a_n, a_s, a_ss = a_n + len(a), a_s + a.sum(0), a_ss + (a * a).sum(0)
        if m_n < 2:
            raise ValueError("normalisation: fewer than 2 valid target frames in the train split")
        m_mu, a_mu = m_s / m_n, a_s / a_n
        m_sd = np.sqrt(np.maximum(m_ss / m_n - m_mu**2, 0)) + 1e-4
        a_sd = np.sqrt(np.maximum(a_ss / a_n - a_mu**2, 0)) + 1e-4
        return cls(m_mu.astype(np.float32), m_sd.astype(np.float32), a_mu.astype(np.float32), a_sd.astype(np.float32))

    def to_dict(self) -> dict:
        return {k: torch.from_numpy(np.asarray(v)) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> Normalizer:
        return cls(**{k: np.asarray(v.numpy() if torch.is_tensor(v) else v, np.float32) for k, v in d.items()})

    def inputs(self, partner, partner_valid, target_audio):
        """Model input (B, T, D + M): the partner's normalised motion (0 where invalid) ‖ normalised audio."""
        dev = partner.device
        mm, ms = torch.as_tensor(self.motion_mean, device=dev), torch.as_tensor(self.motion_std, device=dev)
        am, as_ = torch.as_tensor(self.audio_mean, device=dev), torch.as_tensor(self.audio_std, device=dev)
        motion = (partner - mm) / ms * partner_valid.unsqueeze(-1)
        return torch.cat([motion, (target_audio - am) / as_], dim=-1)

    def target(self, x):
        return (x - torch.as_tensor(self.motion_mean, device=x.device)) / torch.as_tensor(self.motion_std, device=x.device)

    def motion(self, z: np.ndarray) -> np.ndarray:
        """Back from the model's normalised output to the task's feature space."""
        return z * self.motion_std + self.motion_mean


class TemporalConvNet(nn.Module):
    """Non-causal dilated 1-D convolutions with residual blocks: (B, T, in) -> (B, T, out).

    Receptive field 1 + (kernel − 1)(2^layers − 1) frames (kernel 5, 4 layers: 61 frames, 2 s at
    30 Hz). Fully convolutional, so an item of any length is predicted in one call.
    """

    def __init__(self, in_dim: int, out_dim: int, hidden: int = 128, layers: int = 4, kernel: int = 5):
        super().__init__()
        self.config = {"in_dim": in_dim, "out_dim": out_dim, "hidden": hidden, "layers": layers, "kernel": kernel}
        self.inp = nn.Conv1d(in_dim, hidden, 1)
        self.blocks = nn.ModuleList(
            nn.Conv1d(hidden, hidden, kernel, padding=(kernel - 1) // 2 * 2**i, dilation=2**i) for i in range(layers)
        )
        self.out = nn.Conv1d(hidden, out_dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(x.transpose(1, 2))
        for conv in self.blocks:
            h = h + conv(torch.nn.functional.gelu(h))
        return self.out(h).transpose(1, 2)


def masked_mse(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean squared error over valid frames (a window's padding and invalid frames do not count)."""
    w = valid.to(pred.dtype).unsqueeze(-1)
    return ((pred - target) ** 2 * w).sum() / (w.sum() * pred.shape[-1]).clamp_min(1.0)
