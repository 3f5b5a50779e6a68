"""Weights registry and strict loaders, tested with weights we generate in the official formats."""

import dataclasses

import numpy as np
import pytest
import torch

from dyadbench.features import weights
from dyadbench.features.models import load_network
from dyadbench.features.nets.facenet import InceptionResnetV1
from dyadbench.features.nets.inception_fid import FIDInceptionV3
from dyadbench.features.nets.syncnet import SyncNet
from dyadbench.features.nets.vggface import CHANNELS, VGGFace, read_keras_h5
from dyadbench.features.weights import WeightsError
from keras_layout import write_deepface_vggface


@pytest.fixture()
def weights_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DYADBENCH_WEIGHTS", str(tmp_path / "w"))
    monkeypatch.setenv("DYADBENCH_CACHE", str(tmp_path / "cache"))
    (tmp_path / "w").mkdir()
    return tmp_path / "w"


def save_official_style(net, path):
    """torch.save of a plain state dict, without num_batches_tracked (old PyTorch checkpoints)."""
    torch.save({k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}, path)


def pin(monkeypatch, name, path):
    spec = dataclasses.replace(weights.REGISTRY[name], sha256=weights.sha256_of(path), size=path.stat().st_size)
    monkeypatch.setitem(weights.REGISTRY, name, spec)


def randomize_bn(net):
    g = torch.Generator().manual_seed(0)
    for m in net.modules():
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
    return net.eval()


def test_missing_weights_message_names_file_digest_and_source(weights_dir):
    with pytest.raises(WeightsError) as err:
        weights.resolve("syncnet")
    msg = str(err.value)
    assert "syncnet_v2.model" in msg and weights.REGISTRY["syncnet"].sha256 in msg and "robots.ox.ac.uk" in msg


def test_mismatching_digest_is_refused(weights_dir):
    (weights_dir / "syncnet_v2.model").write_bytes(b"not the model")
    with pytest.raises(WeightsError, match="does not match"):
        weights.resolve("syncnet")


def test_unpublished_digest_is_pinned_only_once_the_file_works_as_the_network(weights_dir):
    path = weights_dir / "20180402-114759-vggface2.pt"
    path.write_bytes(np.random.default_rng(0).bytes(4096))  # garbage under the right name
    with pytest.raises(WeightsError, match="not a readable PyTorch checkpoint") as err:
        load_network("facenet512")
    assert "None" not in str(err.value)
    torch.manual_seed(0)
    save_official_style(randomize_bn(InceptionResnetV1()), path)  # a file that is the network: pinned on load
    load_network("facenet512")
    torch.manual_seed(1)
    save_official_style(randomize_bn(InceptionResnetV1()), path)  # another one: refused, with the way out
    with pytest.raises(WeightsError, match="pinned on first use.*weights forget facenet512"):
        load_network("facenet512")
    assert weights.forget("facenet512") is not None
    load_network("facenet512")  # unpinned: the new file loads and is pinned in turn
    with pytest.raises(WeightsError, match="pinned on first use"):
        save_official_style(randomize_bn(InceptionResnetV1()), path)
        load_network("facenet512")


def test_package_weights_resolve_offline():
    path = weights.resolve("dlib_face_recognition")
    assert path.name == "dlib_face_recognition_resnet_model_v1.dat" and path.stat().st_size > 1_000_000


@pytest.mark.parametrize("name,builder,make_input,method", [
    ("syncnet", SyncNet, lambda: torch.rand(2, 3, 5, 224, 224) * 255, "forward_lip"),
    ("syncnet", SyncNet, lambda: torch.randn(2, 1, 13, 20), "forward_aud"),
    ("fid_inception", FIDInceptionV3, lambda: torch.rand(2, 3, 120, 160), "forward"),
    ("facenet512", InceptionResnetV1, lambda: torch.randn(2, 3, 160, 160), "forward"),
])
def test_generated_checkpoint_loads_strictly_and_reproduces_outputs(weights_dir, monkeypatch, name, builder, make_input, method):
    torch.manual_seed(0)
    net = randomize_bn(builder())
    path = weights_dir / weights.REGISTRY[name].filename
    save_official_style(net, path)
    pin(monkeypatch, name, path)
    if name == "fid_inception":  # the file name promises a SHA-256 prefix; our generated file has another
        monkeypatch.setattr(weights, "verify", lambda spec, p: weights.sha256_of(p))
    loaded = load_network(name, device="cpu")
    x = make_input()
    with torch.inference_mode():
        np.testing.assert_allclose(getattr(loaded, method)(x).numpy(), getattr(net, method)(x).numpy(), rtol=1e-5, atol=1e-5)


def test_checkpoint_with_wrong_keys_is_an_error_naming_them(weights_dir, monkeypatch):
    sd = SyncNet().state_dict()
    sd["netfcaud.9.weight"] = sd.pop("netfcaud.3.weight")
    path = weights_dir / "syncnet_v2.model"
    torch.save(sd, path)
    pin(monkeypatch, "syncnet", path)
    with pytest.raises(WeightsError, match=r"missing \['netfcaud.3.weight'\].*unexpected \['netfcaud.9.weight'\]"):
        load_network("syncnet")


def test_fid_inception_shapes_and_tf_quirks():
    net = FIDInceptionV3().eval()
    assert net.Mixed_7c.max_pool and not net.Mixed_7b.max_pool
    with torch.inference_mode():
        assert net(torch.rand(1, 3, 64, 64)).shape == (1, 2048)  # any input size: resized to 299
    assert net.fc.out_features == 1008


def test_vggface_loads_keras_sequential_layout(tmp_path):
    torch.manual_seed(0)
    small = VGGFace(num_classes=10, width_div=16).eval()
    path = tmp_path / "vgg_face_weights.h5"
    write_deepface_vggface(small, path)
    state = read_keras_h5(path)
    fresh = VGGFace(num_classes=10, width_div=16)
    fresh.load_state_dict(state, strict=True)
    x = torch.rand(1, 3, 224, 224)
    with torch.inference_mode():
        np.testing.assert_allclose(fresh.eval()(x).numpy(), small(x).numpy(), rtol=1e-5, atol=1e-6)


def test_facenet_wrapper_preprocesses_and_validates(weights_dir, monkeypatch):
    from dyadbench.features.models import FaceNetFeatures

    torch.manual_seed(0)
    net = randomize_bn(InceptionResnetV1())
    path = weights_dir / "20180402-114759-vggface2.pt"
    save_official_style(net, path)
    chips = np.random.default_rng(0).integers(0, 255, (3, 160, 160, 3), dtype=np.uint8)
    emb = FaceNetFeatures(device="cpu")(chips)
    with torch.inference_mode():
        expected = net((torch.from_numpy(chips).permute(0, 3, 1, 2).float() - 127.5) / 128.0).numpy()
    np.testing.assert_allclose(emb, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match=r"expects \(N, 160, 160, 3\)"):
        FaceNetFeatures(device="cpu")(chips[:, :100, :100])


@pytest.mark.parametrize("output", ["fc7", "fc8"])
def test_vggface_wrapper_is_deepface_represent(output, tmp_path, monkeypatch):
    """deepface 0.0.103: BGR in [0, 1], fc7 after ReLU (model.layers[-5]), flattened, L2-normalised;
    deepface 0.0.79: fc8 before the softmax (model.layers[-2]), as it is."""
    from dyadbench.features import models

    torch.manual_seed(1)
    small = VGGFace(num_classes=12, width_div=16).eval()
    with torch.no_grad():  # He-scaled weights, so that 16 random layers still carry the input through
        for conv in [*small.convs, small.fc6, small.fc7, small.fc8]:
            conv.weight.normal_(0, float(np.sqrt(2.0 / conv.weight[0].numel())))
            conv.bias.normal_(0, 0.01)
    path = tmp_path / "vgg_face_weights.h5"
    write_deepface_vggface(small, path)
    loaded = VGGFace(num_classes=12, width_div=16)
    loaded.load_state_dict(read_keras_h5(path), strict=True)
    monkeypatch.setattr(models, "load_network", lambda name, path, device: loaded.eval())
    rng = np.random.default_rng(2)
    rgb = (rng.uniform(0, 1, (3, 1, 1, 3)) * rng.integers(0, 256, (3, 224, 224, 1))).astype(np.uint8)  # coloured
    got = models.VGGFaceFeatures(device="cpu", output=output)(rgb)
    x = torch.from_numpy(np.ascontiguousarray(rgb[..., ::-1].transpose(0, 3, 1, 2)).astype(np.float32) / 255.0)
    h = x
    convs = iter(small.convs)
    with torch.no_grad():
        for c in CHANNELS:
            h = torch.nn.functional.max_pool2d(h, 2) if c is None else torch.relu(next(convs)(h))
        fc7 = torch.relu(small.fc7(torch.relu(small.fc6(h))))
        want = small.fc8(fc7).flatten(1).numpy() if output == "fc8" else fc7.flatten(1).numpy()
    if output == "fc7":
        want = want / np.linalg.norm(want, axis=1, keepdims=True)
        np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, rtol=1e-5)
    assert got.shape == (3, 12 if output == "fc8" else 4096 // 16)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    # RGB would be another embedding: the channel order matters
    with torch.no_grad():
        rgb_fc7 = small(torch.from_numpy(rgb.transpose(0, 3, 1, 2).astype(np.float32) / 255.0)).numpy()
    assert output == "fc8" or np.abs(rgb_fc7 / np.linalg.norm(rgb_fc7, axis=1, keepdims=True) - got).max() > 1e-2
    assert np.abs(got[0] - got[1]).max() > 1e-2  # the embedding depends on the image
