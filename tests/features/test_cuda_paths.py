"""Every network the video and retrieval tasks run has a CUDA path (``--device cuda``) that gives
the CPU's numbers. The CPU half always runs; the GPU comparison runs where CUDA is present (never
required: CI has no GPU). MediaPipe and dlib have no CUDA build on PyPI and stay on the CPU."""

import numpy as np
import pytest
import torch

from dyadbench.features import models

NETWORKS = sorted(models._builders())


def _random_network(name: str):
    torch.manual_seed(0)
    net = models._builders()[name]()
    g = torch.Generator().manual_seed(1)
    for m in net.modules():  # BatchNorm statistics away from the identity, so they matter on both devices
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
    return net.eval()


def test_every_network_has_a_fixed_input_and_runs_on_the_cpu():
    assert set(NETWORKS) == set(models.PROBES) and "i3d" in NETWORKS
    with torch.inference_mode():
        for name in NETWORKS:
            net = _random_network(name)
            outputs = [probe(net) for probe in models.PROBES[name]]
            assert all(bool(torch.isfinite(o).all()) for o in outputs), name


def test_cuda_requested_without_a_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="'cuda' requested but CUDA is not available"):
        models.pick_device("cuda")
    assert models.pick_device("auto") == "cpu"
    with pytest.raises(ValueError, match="expected 'auto', 'cpu' or 'cuda"):
        models.pick_device("gpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here (the comparison runs on a GPU machine)")
@pytest.mark.parametrize("name", NETWORKS)
def test_cuda_outputs_equal_the_cpus(name):
    torch.backends.cuda.matmul.allow_tf32 = False  # TF32 would differ from the CPU by ~1e-3 by design
    torch.backends.cudnn.allow_tf32 = False
    net = _random_network(name)
    with torch.inference_mode():
        cpu = [probe(net).numpy() for probe in models.PROBES[name]]
        gpu_net = net.to("cuda")
        gpu = [probe(_on_cuda(gpu_net)).cpu().numpy() for probe in models.PROBES[name]]
    for c, g in zip(cpu, gpu):
        np.testing.assert_allclose(g, c, rtol=1e-4, atol=1e-4 * max(1.0, float(np.abs(c).max())))


class _on_cuda:
    """The probes build CPU tensors: move each call's inputs to the GPU."""

    def __init__(self, net):
        self.net = net

    def __call__(self, x):
        return self.net(x.to("cuda"))

    def __getattr__(self, attr):
        fn = getattr(self.net, attr)
        return (lambda *a: fn(*(t.to("cuda") for t in a))) if callable(fn) else fn
