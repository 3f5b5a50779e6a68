"""FID input conventions: pytorch-fid's bilinear resize, clean-fid's clean resize, antialiased, face crops."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dyadbench.features.models import InceptionFeatures
from dyadbench.features.video import FID_EXTRACTORS, face_crops
from dyadbench.metrics.registry import get_metric


def preprocessor(resize):
    model = object.__new__(InceptionFeatures)  # preprocessing only: no weights needed
    model.resize = resize
    return model


def checkerboard(h=1080, w=1920):
    yy, xx = np.mgrid[:h, :w]
    img = (((yy + xx) % 2) * 255).astype(np.uint8)
    return np.repeat(img[None, :, :, None], 3, axis=3)


def test_at_299_every_convention_feeds_the_same_pixels():
    img = np.random.default_rng(0).integers(0, 256, (2, 299, 299, 3), dtype=np.uint8)
    ref = img.transpose(0, 3, 1, 2).astype(np.float32) / 255
    for mode in ("pytorch-fid", "clean", "antialias"):
        np.testing.assert_array_equal(preprocessor(mode).preprocess(img), ref)


def test_antialiased_resizes_do_not_alias_a_full_hd_checkerboard():
    """A 1-pixel checkerboard is flat grey to the eye: low-pass resizes keep it flat, plain bilinear aliases."""
    img = checkerboard()
    plain = F.interpolate(torch.from_numpy(preprocessor("pytorch-fid").preprocess(img)), size=(299, 299),
                          mode="bilinear", align_corners=False).numpy()  # what the network does for pytorch-fid
    clean = preprocessor("clean").preprocess(img)
    anti = preprocessor("antialias").preprocess(img)
    assert clean.shape == anti.shape == (1, 3, 299, 299)
    assert abs(clean.mean() - 0.5) < 0.01 and abs(anti.mean() - 0.5) < 0.01
    assert clean.std() < 0.05 and anti.std() < 0.05
    assert plain.std() > 5 * max(clean.std(), anti.std())


def test_clean_resize_is_pil_bicubic_on_float_channels_clipped():
    from PIL import Image

    img = np.random.default_rng(1).integers(0, 256, (1, 64, 80, 3), dtype=np.uint8)
    got = preprocessor("clean").preprocess(img)
    chan = np.asarray(Image.fromarray(img[0, :, :, 1].astype(np.float32), mode="F").resize((299, 299), Image.BICUBIC))
    np.testing.assert_allclose(got[0, 1], chan.clip(0, 255) / 255, atol=1e-6)
    with pytest.raises(ValueError, match="resize"):
        InceptionFeatures.__init__(object.__new__(InceptionFeatures), resize="lanczos")


def test_face_crops_centre_on_the_face_and_drop_frames_without_one():
    frames = np.zeros((3, 200, 300, 3), np.uint8)
    frames[:, 80:120, 130:170] = 255  # a bright 40x40 "face"
    boxes = np.array([[130, 80, 170, 120, 1.0], [np.nan] * 5, [280, 180, 320, 220, 1.0]], float)
    crops, kept = face_crops(frames, boxes, scale=1.5)
    assert kept.tolist() == [0, 2] and crops.shape == (2, 299, 299, 3)
    # the face fills the central 2/3 of the crop (1/1.5), the margin around it is background
    assert crops[0, 149, 149].min() == 255 and crops[0, 5, 5].max() == 0
    assert crops[0, 60:240, 60:240].mean() > 240


def test_each_fid_convention_names_an_extractor():
    spec = get_metric("fid")
    assert spec.default == "pytorch-fid"
    assert {c.features["extractor"] for c in spec.conventions.values()} == set(FID_EXTRACTORS)
