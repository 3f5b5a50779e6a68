"""DeepFace (deepface's Keras model) from its official h5 layout: the Keras conventions our torch
port must reproduce, each re-derived independently in NumPy, and the wrapper's preprocessing."""

import numpy as np
import pytest
import torch

from dyadbench.features.nets.deepface_net import (
    DeepFaceNet,
    LocallyConnected2d,
    max_pool_same,
    read_keras_h5,
)
from keras_layout import write_deepface_deepface, write_deepface_facenet

from dyadbench.features.nets.facenet_keras import read_keras_h5 as read_facenet


def _keras_locally_connected(x_hwc, kernel, bias, k, stride):
    """Keras LocallyConnected2D by its definition: a separate (k·k·C, out) matrix per output
    position (row-major), each patch flattened in (row, column, channel) order."""
    h, w, c = x_hwc.shape
    oh, ow = (h - k) // stride + 1, (w - k) // stride + 1
    out = np.zeros((oh, ow, kernel.shape[-1]))
    for i in range(oh):
        for j in range(ow):
            patch = x_hwc[i * stride : i * stride + k, j * stride : j * stride + k, :].reshape(-1)
            out[i, j] = patch @ kernel[i * ow + j] + bias[i, j]
    return out


@pytest.mark.parametrize("stride", [1, 2])
def test_locally_connected_matches_keras_definition(stride):
    rng = np.random.default_rng(stride)
    layer = LocallyConnected2d(3, 4, 9, 3, stride=stride)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(rng.normal(size=layer.weight.shape).astype(np.float32)))
        layer.bias.copy_(torch.from_numpy(rng.normal(size=layer.bias.shape).astype(np.float32)))
    x = rng.normal(size=(9, 9, 3)).astype(np.float32)
    ours = layer(torch.from_numpy(x.transpose(2, 0, 1))[None])[0].detach().numpy().transpose(1, 2, 0)
    ref = _keras_locally_connected(x.astype(np.float64), layer.weight.detach().numpy(), layer.bias.detach().numpy(), 3, stride)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5)


def test_same_max_pool_pads_bottom_right_like_tensorflow():
    x = np.arange(2 * 7 * 8, dtype=np.float32).reshape(1, 2, 7, 8) * np.array([1, -1], np.float32)[None, :, None, None]
    ours = max_pool_same(torch.from_numpy(x)).numpy()
    # TF 'same': out = ceil(n / 2); total padding (out-1)*2 + 3 - n, the odd one at the end
    ref = np.zeros((1, 2, 4, 4), np.float32)
    for i in range(4):
        for j in range(4):
            r0, c0 = i * 2 - (max((4 - 1) * 2 + 3 - 7, 0) // 2), j * 2 - (max((4 - 1) * 2 + 3 - 8, 0) // 2)
            window = x[:, :, max(r0, 0) : r0 + 3, max(c0, 0) : c0 + 3]
            ref[:, :, i, j] = window.max(axis=(2, 3))
    np.testing.assert_array_equal(ours, ref)


def test_official_h5_layout_loads_and_gives_the_same_representation(tmp_path):
    torch.manual_seed(0)
    net = DeepFaceNet().eval()
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0, 0.05)
    path = tmp_path / "VGGFace2_DeepFace_weights_val-0.9034.h5"
    write_deepface_deepface(net, path)
    fresh = DeepFaceNet()
    fresh.load_state_dict(read_keras_h5(path), strict=True)
    x = torch.rand(2, 3, 152, 152)
    with torch.no_grad():
        a, b = net(x), fresh.eval()(x)
    assert a.shape == (2, 4096) and a.abs().sum() > 0
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def test_wrapper_feeds_bgr_in_unit_range_and_checks_size(tmp_path, monkeypatch):
    from dyadbench.features.models import DeepFaceFeatures

    monkeypatch.setenv("DYADBENCH_WEIGHTS", str(tmp_path))
    monkeypatch.setenv("DYADBENCH_CACHE", str(tmp_path / "cache"))
    torch.manual_seed(1)
    net = DeepFaceNet().eval()
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0, 0.05)
    write_deepface_deepface(net, tmp_path / "VGGFace2_DeepFace_weights_val-0.9034.h5")
    feats = DeepFaceFeatures(device="cpu")
    rgb = np.random.default_rng(0).integers(0, 256, (2, 152, 152, 3), dtype=np.uint8)
    got = feats(rgb)
    bgr = torch.from_numpy(rgb[..., ::-1].transpose(0, 3, 1, 2).astype(np.float32) / 255.0)
    with torch.no_grad():
        np.testing.assert_allclose(got, net(bgr).numpy(), rtol=1e-4, atol=1e-4)  # float32, other batch shapes
    with pytest.raises(ValueError, match="152"):
        feats(rgb[:, :150, :150])


def test_missing_weights_name_the_official_download(tmp_path, monkeypatch):
    from dyadbench.features.models import DeepFaceFeatures
    from dyadbench.features.weights import WeightsError

    monkeypatch.setenv("DYADBENCH_WEIGHTS", str(tmp_path))
    monkeypatch.setenv("DYADBENCH_CACHE", str(tmp_path / "cache"))
    with pytest.raises(WeightsError, match="swghosh/DeepFace"):
        DeepFaceFeatures(device="cpu")


def _random_facenet128(seed: int):
    from dyadbench.features.nets.facenet_keras import facenet128

    torch.manual_seed(seed)
    net = facenet128().eval()
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if name.endswith("bn.weight") or name == "last_bn.weight":
                t.fill_(1.0)  # Keras batch norms here have no scale
            elif name.endswith("running_var"):
                t.uniform_(0.5, 1.5)
            elif t.is_floating_point():
                t.normal_(0, 0.05)
    return net


def _facenet128_in_weights_dir(tmp_path, monkeypatch, seed: int):
    """A seeded random FaceNet-128 written as deepface's facenet_weights.h5 where dyadbench looks for weights."""
    monkeypatch.setenv("DYADBENCH_WEIGHTS", str(tmp_path))
    monkeypatch.setenv("DYADBENCH_CACHE", str(tmp_path / "cache"))
    net = _random_facenet128(seed)
    write_deepface_facenet(net, tmp_path / "facenet_weights.h5")
    return net


def test_facenet128_loads_the_file_in_the_order_keras_writes_it(tmp_path):
    import h5py

    from dyadbench.features.nets.facenet_keras import facenet128

    net = _random_facenet128(0)
    path = tmp_path / "facenet_weights.h5"
    weighted = write_deepface_facenet(net, path)
    # Keras lists a functional model's layers by depth: the stem first, then in Block35_1 its
    # longest branch (seen in a file Keras wrote: weighted layer #12 is Branch_2's first conv).
    assert weighted[12] == "Block35_1_Branch_2_Conv2d_0a_1x1" and weighted[:2] == ["Conv2d_1a_3x3", "Conv2d_1a_3x3_BatchNorm"]
    assert weighted[-2:] == ["Bottleneck", "Bottleneck_BatchNorm"]
    assert "Block17_3_Branch_3_Conv2d_0b_1x7" in weighted and "Block8_6_Branch_1_Conv2d_0c_3x1" in weighted
    with h5py.File(path) as f:
        assert f["Block35_1_Conv2d_1x1"].attrs["weight_names"].tolist() == [b"Block35_1_Conv2d_1x1/kernel:0",
                                                                            b"Block35_1_Conv2d_1x1/bias:0"]
    fresh = facenet128()
    fresh.load_state_dict(read_facenet(path), strict=True)
    x = torch.randn(2, 3, 160, 160)
    with torch.no_grad():
        a, b = net(x), fresh.eval()(x)
    assert a.shape == (2, 128) and not torch.allclose(a.norm(dim=1), torch.ones(2))  # raw, not L2-normalised
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)


def test_facenet128_file_missing_or_extra_layers_are_named(tmp_path):
    import h5py

    net = _random_facenet128(3)
    path = tmp_path / "facenet_weights.h5"
    write_deepface_facenet(net, path)
    with h5py.File(path, "r+") as f:
        names = [n for n in f.attrs["layer_names"] if n != b"Block17_4_Conv2d_1x1"]
        f.attrs["layer_names"] = np.array(names)
    with pytest.raises(ValueError, match="no weighted layer 'Block17_4_Conv2d_1x1'"):
        read_facenet(path)
    write_deepface_facenet(net, path)
    with h5py.File(path, "r+") as f:
        g = f.create_group("Extra_Conv")
        g.create_dataset("Extra_Conv/kernel:0", data=np.zeros((1, 1, 2, 2), np.float32))
        g.attrs["weight_names"] = np.array([b"Extra_Conv/kernel:0"])
        f.attrs["layer_names"] = np.array([*f.attrs["layer_names"], b"Extra_Conv"])
    with pytest.raises(ValueError, match="Extra_Conv"):
        read_facenet(path)


def test_facenet128_wrapper_whitens_each_bgr_image(tmp_path, monkeypatch):
    from dyadbench.features.models import FaceNet128Features

    net = _facenet128_in_weights_dir(tmp_path, monkeypatch, 1)
    rgb = np.random.default_rng(2).integers(0, 256, (3, 160, 160, 3), dtype=np.uint8)
    got = FaceNet128Features(device="cpu")(rgb)
    expected = []
    for img in rgb.astype(np.float64):
        bgr = img[:, :, ::-1]
        z = (bgr - bgr.mean()) / bgr.std()  # deepface "Facenet": one mean and std per image
        with torch.no_grad():
            expected.append(net(torch.from_numpy(z.transpose(2, 0, 1)[None].astype(np.float32)))[0].numpy())
    np.testing.assert_allclose(got, np.stack(expected), rtol=1e-4, atol=1e-4)


def test_facenet128_base_normalization_is_represents_default(tmp_path, monkeypatch):
    from dyadbench.features.models import FaceNet128Features

    net = _facenet128_in_weights_dir(tmp_path, monkeypatch, 4)
    rgb = np.random.default_rng(5).integers(0, 256, (2, 160, 160, 3), dtype=np.uint8)
    got = FaceNet128Features(device="cpu", normalization="base")(rgb)
    bgr = rgb[..., ::-1].astype(np.float32) / 255.0  # deepface resize_image's /255, then "base" leaves it
    with torch.no_grad():
        want = net(torch.from_numpy(np.ascontiguousarray(bgr.transpose(0, 3, 1, 2)))).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert np.abs(got - FaceNet128Features(device="cpu")(rgb)).max() > 1e-2  # the default whitens: another number
    with pytest.raises(ValueError, match="normalization"):
        FaceNet128Features(device="cpu", normalization="VGGFace")


@pytest.mark.slow
def test_retrieval_facenet128_space_follows_the_chosen_convention(realtalk_root, tmp_path, monkeypatch):
    """The default perceptual_l2_facenet128 whitens (normalization='Facenet'); the 'base' convention
    embeds with represent()'s default instead: another space, named in report.json."""
    from dyadbench.datasets.realtalk import RealTalk
    from dyadbench.datasets.submission import write_retrieval_submission
    from dyadbench.runner import evaluate

    monkeypatch.setenv("DYADBENCH_WEIGHTS", str(tmp_path / "weights"))
    monkeypatch.setenv("DYADBENCH_CACHE", str(tmp_path / "cache"))
    (tmp_path / "weights").mkdir()
    write_deepface_facenet(_random_facenet128(6), tmp_path / "weights" / "facenet_weights.h5")
    rt = RealTalk(realtalk_root)
    queries, bank = rt.split("eval"), rt.split("bank")
    scores = np.random.default_rng(1).random((len(queries), len(bank)))
    for i, q in enumerate(queries):  # the true listener last: top-1 is another clip's listener
        scores[i, [b.id for b in bank].index(q.id)] = -1.0
    write_retrieval_submission(tmp_path / "sub", scores, [q.id for q in queries], [b.id for b in bank])
    default = evaluate("realtalk/listener-retrieval", realtalk_root, tmp_path / "sub", n_boot=0, slice_boot=0)
    base = evaluate("realtalk/listener-retrieval", realtalk_root, tmp_path / "sub", n_boot=0, slice_boot=0,
                    conventions={"perceptual_l2_facenet128": "base"})
    a, b = default["metrics"]["perceptual_l2_facenet128"], base["metrics"]["perceptual_l2_facenet128"]
    assert a["convention"] == "realtalk" and b["convention"] == "base"
    assert "normalization='Facenet'" in a["reference_code"] and "represent() defaults" in b["reference_code"]
    assert a["value"] > 0 and b["value"] > 0 and abs(a["value"] - b["value"]) > 1e-3 * a["value"]


def test_corrupt_weights_skip_their_metric_with_the_reason_and_the_evaluation_goes_on(realtalk_root, tmp_path, monkeypatch):
    from dyadbench.baselines import run_baseline
    from dyadbench.runner import evaluate

    monkeypatch.setenv("DYADBENCH_WEIGHTS", str(tmp_path / "weights"))
    monkeypatch.setenv("DYADBENCH_CACHE", str(tmp_path / "cache"))
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "facenet_weights.h5").write_bytes(b"\0" * 4096)  # the right name, not an h5
    run_baseline("realtalk/listener-retrieval", "random", realtalk_root, tmp_path / "sub")
    report = evaluate("realtalk/listener-retrieval", realtalk_root, tmp_path / "sub", n_boot=0, slice_boot=0)
    assert "facenet_weights.h5" in report["skipped"]["perceptual_l2_facenet128"]
    assert "Keras h5" in report["skipped"]["perceptual_l2_facenet128"]
    assert "perceptual_l2_dlib" in report["metrics"] and "median_rank" in report["metrics"]
