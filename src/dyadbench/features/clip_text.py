"""CLIP text and image embeddings for the text-conditioned retrieval route (weights by path only).

Any CLIP checkpoint in the Hugging Face layout (a folder with ``model.safetensors``,
``config.json`` and the tokenizer and image-processor files) works: the weights file is looked
up like every other (an explicit folder, ``$DYADBENCH_WEIGHTS/clip/``, the cache) and verified by
SHA-256 (pinned once it first loads as a CLIP model), and ``transformers`` loads the folder with network access off.
Nothing is downloaded.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .weights import REGISTRY, pin, resolve, verify


class ClipEmbedder:
    """Unit-norm text and image embeddings in CLIP's joint space."""

    def __init__(self, path: str | Path | None = None, device: str = "cpu"):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder only: never reach the network
        import torch
        from transformers import CLIPImageProcessor, CLIPModel, CLIPTokenizer

        if path is not None and Path(path).is_dir():
            path = Path(path) / "model.safetensors"
        weights = resolve("clip", path)  # verified SHA-256, or WeightsError naming the official source
        folder = weights.parent
        self.model = CLIPModel.from_pretrained(folder, local_files_only=True).eval().to(device)
        self.tokenizer = CLIPTokenizer.from_pretrained(folder, local_files_only=True)
        self.processor = CLIPImageProcessor.from_pretrained(folder, local_files_only=True)
        self.device, self._torch = device, torch
        pin("clip", verify(REGISTRY["clip"], weights))  # it loaded as a CLIP model: only now is its digest trusted

    @staticmethod
    def _unit(x) -> np.ndarray:
        x = x.detach().float().cpu().numpy() if hasattr(x, "detach") else np.asarray(x, np.float32)
        return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)

    def _features(self, out):
        # transformers 4.x returns the projected tensor; 5.x may wrap it (pooler_output holds it then)
        return out if hasattr(out, "detach") else out.pooler_output

    def text(self, prompts: list[str]) -> np.ndarray:
        tokens = self.tokenizer(prompts, padding=True, return_tensors="pt").to(self.device)
        with self._torch.inference_mode():
            return self._unit(self._features(self.model.get_text_features(**tokens)))

    def images(self, images: np.ndarray, batch_size: int = 32) -> np.ndarray:
        """(N, H, W, 3) RGB uint8 -> (N, d)."""
        out = []
        for i in range(0, len(images), batch_size):
            pixels = self.processor(images=list(images[i : i + batch_size]), return_tensors="pt")["pixel_values"].to(self.device)
            with self._torch.inference_mode():
                out.append(self._unit(self._features(self.model.get_image_features(pixel_values=pixels))))
        return np.concatenate(out) if out else np.zeros((0, self.model.config.projection_dim), np.float32)
