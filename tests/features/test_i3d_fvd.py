"""FVD as VideoGPT computes it: its I3D checkpoint layout, its input recipe, its logits and its FD.

The pinned figures were printed by VideoGPT's own code (wilson1yan/VideoGPT @ 733d2b1:
``videogpt/fvd/pytorch_i3d.py`` ``InceptionI3d(400, in_channels=3)`` loading the checkpoint of
``i3d_layout.videogpt_i3d_state(0)`` with ``strict=True``, ``videogpt/data.py`` ``preprocess(video,
224)`` on ``i3d_layout.seeded_video``, ``videogpt/fvd/fvd.py`` ``frechet_distance``), run outside
this project with torch 2.13 on CPU, one thread.
"""

import numpy as np
import pytest
import scipy.linalg
import torch

from dyadbench.features import weights
from dyadbench.features.models import I3DFeatures, load_network, videogpt_preprocess
from dyadbench.features.weights import WeightsError
from i3d_layout import seeded_video, videogpt_i3d_state

# per clip shape: (sum of the preprocessed clip, its pixel [:, 0, 100, 100], first 6 logits, sum, L2 norm, argmax)
REFERENCE = {
    (120, 160): (11063.091035991907, [-0.2558998, 0.0197015, -0.2435979],
                 [2.580526, 0.032891, -3.013805, -0.451634, -1.532133, -4.269799], -113.63902, 47.8286, 72),
    (150, 100): (-11229.593109756708, [-0.1944884, -0.2859826, -0.2248459],
                 [2.578692, 0.08174, -2.92006, -0.471865, -1.475794, -4.008807], -104.76169, 45.62069, 72),
}
VIDEOGPT_FD_FLOAT64, VIDEOGPT_FD_FLOAT32 = 273.95903161618565, 273.9629821777344


@pytest.fixture(autouse=True)
def one_thread():
    """The reference figures were printed with one thread; torch's threaded bilinear resize differs
    from its single-threaded one in the last float32 bit (1.5e-8 relative on the clip's sum)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture()
def i3d_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("DYADBENCH_WEIGHTS", str(tmp_path / "w"))
    monkeypatch.setenv("DYADBENCH_CACHE", str(tmp_path / "cache"))
    (tmp_path / "w").mkdir()
    path = tmp_path / "w" / weights.REGISTRY["i3d"].filename
    torch.save(videogpt_i3d_state(0), path)
    return path


@pytest.mark.parametrize("shape", sorted(REFERENCE))
def test_preprocessing_is_videogpts_to_the_bit(shape):
    pre_sum, pixel, *_ = REFERENCE[shape]
    x = videogpt_preprocess(seeded_video(1, 16, *shape))
    assert x.shape == (3, 16, 224, 224) and x.dtype == torch.float32
    assert float(x.double().sum()) == pytest.approx(pre_sum, rel=1e-12)
    np.testing.assert_allclose(x[:, 0, 100, 100].numpy(), pixel, atol=1e-7)
    assert float(x.min()) >= -0.5 and float(x.max()) <= 0.5  # VideoGPT's [-0.5, 0.5], not TF's [-1, 1]


def test_videogpt_checkpoint_loads_and_gives_its_logits(i3d_weights):
    model = I3DFeatures(device="cpu")
    clips = np.stack([seeded_video(1, 16, 120, 160)])
    for shape, (_, _, first, total, norm, top) in REFERENCE.items():
        logits = model(seeded_video(1, 16, *shape)[None])[0].astype(np.float64)
        assert logits.shape == (400,)
        np.testing.assert_allclose(logits[:6], first, atol=2e-5)
        assert logits.sum() == pytest.approx(total, abs=1e-3) and np.linalg.norm(logits) == pytest.approx(norm, rel=1e-5)
        assert int(logits.argmax()) == top
    with pytest.raises(ValueError, match=r"clips: expected \(N, 16, H, W, 3\)"):
        model(clips[:, :8])


def test_a_checkpoint_without_the_batchnorm_counters_loads_too(i3d_weights):
    state = {k: v for k, v in videogpt_i3d_state(0).items() if not k.endswith("num_batches_tracked")}
    torch.save(state, i3d_weights)
    net = load_network("i3d", device="cpu")
    assert net.logits.conv3d.bias.shape == (400,)


def test_missing_i3d_names_the_file_and_videogpts_source(tmp_path, monkeypatch):
    monkeypatch.setenv("DYADBENCH_WEIGHTS", str(tmp_path / "none"))
    monkeypatch.setenv("DYADBENCH_CACHE", str(tmp_path / "cache"))
    with pytest.raises(WeightsError) as err:
        weights.resolve("i3d")
    assert "i3d_pretrained_400.pt" in str(err.value) and "1mQK8KD8G6UWRa5t87SRMm5PVXtlpneJT" in str(err.value)


def test_fvd_distance_is_videogpts_frechet_distance_in_float64():
    from dyadbench.metrics.registry import get_metric

    rng = np.random.default_rng(0)  # the arrays the reference run drew, in the same order
    a = rng.standard_normal((600, 400)) @ rng.standard_normal((400, 400)) * 0.05
    b = rng.standard_normal((600, 400)) @ rng.standard_normal((400, 400)) * 0.05 + 0.1
    conv = get_metric("fvd").conventions["videogpt"]
    value = conv.fn([a[None]], [b], [np.ones(len(a), bool)])
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)  # the textbook formula, scipy's sqrtm
    textbook = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(s1 + s2) - 2 * np.trace(scipy.linalg.sqrtm(s1 @ s2)).real
    assert value == pytest.approx(textbook, rel=1e-10)
    # VideoGPT's route (tfgan's trace of an SVD square root; these covariances have condition
    # numbers 1.7e6 and 5.3e7) prints 4.6e-8 relative apart in float64 and 1.4e-5 in float32
    assert abs(value - VIDEOGPT_FD_FLOAT64) / VIDEOGPT_FD_FLOAT64 < 1e-7
    assert abs(value - VIDEOGPT_FD_FLOAT32) / VIDEOGPT_FD_FLOAT32 < 2e-5
    assert "1.4e-5" in conv.description


def test_clip_stream_cuts_every_16_frames_whatever_the_decode_batches(i3d_weights):
    from dyadbench.features.video import I3DClips

    video = np.concatenate([seeded_video(1, 16, 72, 96), seeded_video(2, 16, 72, 96), seeded_video(3, 9, 72, 96)])
    extractor = I3DClips(device="cpu")
    stream = extractor.stream()
    for start, stop in ((0, 5), (5, 21), (21, 22), (22, 41)):  # batches that straddle the clip boundaries
        stream.update(video[start:stop])
    logits = stream.result()["logits"]
    assert logits.shape == (2, 400) and logits.dtype == np.float32  # the 9 frames left over are no clip
    direct = extractor.model(np.stack([video[:16], video[16:32]]))
    np.testing.assert_allclose(logits, direct, rtol=0, atol=1e-5)
    assert not np.allclose(logits[0], logits[1], atol=1e-3)


@pytest.fixture(scope="module")
def short_root(tmp_path_factory):
    """One-second videos: one 16-frame clip each (I3D costs ~3 s a clip on one slow core)."""
    from dyadbench.datasets.sample.seamless_sample import write_seamless_sample

    root = tmp_path_factory.mktemp("seamless-1s")
    write_seamless_sample(root, dyads=1, seconds=1.0, seed=0, width=160, height=120)
    return root


def test_evaluate_reports_fvd_on_every_clip_with_its_interval(i3d_weights, short_root, tmp_path, monkeypatch):
    """A submission whose videos are the true ones played backwards: evaluate's FVD is fd_set on the
    I3D logits of every 16-frame clip, extracted here straight from the decoded files. Each distinct
    video goes to the extractors once (a partner is another item's target)."""
    from dyadbench import engine
    from dyadbench.baselines import run_baseline
    from dyadbench.datasets import media
    from dyadbench.metrics.registry import get_metric
    from dyadbench.runner import evaluate

    torch.set_num_threads(2)  # no bit-exact figure here (the autouse fixture restores the count)
    truth = run_baseline("seamless/video", "ground_truth", short_root, tmp_path / "truth", 0)  # byte copies
    backwards = tmp_path / "backwards"
    backwards.mkdir()
    for path in sorted(truth.glob("*.mp4")):
        media.write_video(backwards / path.name, media.read_frames(path)[::-1], fps=30)
    jobs = []
    run_actors = engine.run_actors
    monkeypatch.setattr(engine, "run_actors", lambda cls, kw, batch, **opts: jobs.append(list(batch)) or run_actors(cls, kw, batch, **opts))
    report = evaluate("seamless/video", short_root, backwards, n_boot=50, slice_boot=0, seed=0, workers=1,
                      cache_root=str(tmp_path / "cache"))
    videos = [ref for batch in jobs for ref in batch]
    n_items = len(list(truth.glob("*.mp4")))
    assert len(videos) == len(set(videos)) == 2 * n_items  # generated + true; the partners are true videos already
    fvd = report["metrics"]["fvd"]

    model = I3DFeatures(device="cpu")
    clips = lambda frames: model(np.stack([frames[k : k + 16] for k in range(0, len(frames) - 15, 16)]))
    gen, ref = [], []
    for path in sorted(truth.glob("*.mp4")):
        g, r = clips(media.read_frames(backwards / path.name)), clips(media.read_frames(path))
        n = min(len(g), len(r))
        gen.append(g[None, :n].astype(np.float64))
        ref.append(r[:n].astype(np.float64))
    expected = get_metric("fvd").conventions["videogpt"].fn(gen, ref, [np.ones(len(r), bool) for r in ref])
    assert fvd["value"] == pytest.approx(expected, rel=1e-6) and fvd["value"] > 0
    assert fvd["low"] <= fvd["value"] <= fvd["high"] and fvd["n"] == len(gen)
    assert "VideoGPT" in fvd["reference_code"] and fvd["function"].endswith("fd_set")
