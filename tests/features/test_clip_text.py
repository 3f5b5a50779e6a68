"""The text-conditioned route: a CLIP checkpoint in the Hugging Face layout, by path only,
SHA-256-pinned; generated here (tiny random weights, a byte-level vocabulary) in that layout."""

import json

import numpy as np
import pytest

transformers = pytest.importorskip("transformers")
import torch  # noqa: E402

from dyadbench.features.weights import WeightsError  # noqa: E402


def _byte_tokens() -> list[str]:
    """CLIP's byte-to-unicode table (GPT-2 style), re-derived: printable bytes map to themselves,
    the rest to code points from 256 up."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = [], 0
    for b in range(256):
        if b in keep:
            chars.append(chr(b))
        else:
            chars.append(chr(256 + extra))
            extra += 1
    return chars


def write_tiny_clip(folder):
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizer

    folder.mkdir(parents=True)
    chars = _byte_tokens()
    vocab = {t: i for i, t in enumerate(chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"])}
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tok = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    tok.save_pretrained(folder)
    eos = vocab["<|endoftext|>"]
    config = CLIPConfig(
        text_config={"vocab_size": len(vocab), "hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2,
                     "num_attention_heads": 4, "max_position_embeddings": 77, "eos_token_id": eos,
                     "bos_token_id": vocab["<|startoftext|>"], "pad_token_id": eos},
        vision_config={"image_size": 32, "patch_size": 8, "hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2,
                       "num_attention_heads": 4},
        projection_dim=16)
    torch.manual_seed(0)
    CLIPModel(config).save_pretrained(folder, safe_serialization=True)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


@pytest.fixture()
def clip_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DYADBENCH_WEIGHTS", str(tmp_path / "weights"))
    monkeypatch.setenv("DYADBENCH_CACHE", str(tmp_path / "cache"))
    return write_tiny_clip(tmp_path / "weights" / "clip")


def test_text_and_image_embeddings_from_the_checkpoint_folder(clip_dir):
    from transformers import CLIPModel

    from dyadbench.features.clip_text import ClipEmbedder

    emb = ClipEmbedder()  # found in $DYADBENCH_WEIGHTS/clip
    t = emb.text(["a person listening", "a rude person"])
    assert t.shape == (2, 16) and np.allclose(np.linalg.norm(t, axis=1), 1)
    imgs = np.random.default_rng(0).integers(0, 256, (3, 40, 40, 3), dtype=np.uint8)
    v = emb.images(imgs)
    assert v.shape == (3, 16) and np.allclose(np.linalg.norm(v, axis=1), 1)
    # the same numbers from the towers by hand: pooled EOS state -> projection -> unit length
    model = CLIPModel.from_pretrained(clip_dir).eval()
    ids = emb.tokenizer(["a person listening"], return_tensors="pt")["input_ids"]
    with torch.no_grad():
        hidden = model.text_model(input_ids=ids).last_hidden_state
        pooled = hidden[0, int((ids[0] == model.config.text_config.eos_token_id).nonzero()[0])]
        ref = model.text_projection(pooled).numpy()
    np.testing.assert_allclose(t[0], ref / np.linalg.norm(ref), rtol=1e-4, atol=1e-5)


def test_clip_text_baseline_scores_by_its_formula(clip_dir, goal_root, tmp_path):
    from dyadbench.baselines import run_baseline
    from dyadbench.baselines.text_retrieval import prompt_for
    from dyadbench.datasets.realtalk import RealTalk
    from dyadbench.datasets.submission import read_retrieval_goals
    from dyadbench.features.clip_text import ClipEmbedder

    sub = run_baseline("realtalk/listener-retrieval", "clip_text", goal_root, tmp_path / "sub", clip=clip_dir)
    rt = RealTalk(goal_root)
    queries, bank = rt.split("eval"), rt.split("bank")
    got = read_retrieval_goals(sub, [q.id for q in queries], [c.id for c in bank], ("appropriate", "rude"))
    emb = ClipEmbedder(clip_dir)

    def person(clip, role):
        e = emb.images(clip.person_frames(role, step=48)).mean(0)
        return e / np.linalg.norm(e)

    q, b = queries[1], bank[3]
    for goal in ("appropriate", "rude"):
        expected = person(q, q.speaker) @ person(b, b.listener) + emb.text([prompt_for(goal)])[0] @ person(b, b.listener)
        assert got[goal][1, 3] == pytest.approx(expected, rel=1e-5, abs=1e-6)
    assert not np.allclose(got["appropriate"], got["rude"])  # the goal changes the ranking input


def test_weights_are_verified_and_never_fetched(clip_dir, tmp_path, monkeypatch):
    from dyadbench.features.clip_text import ClipEmbedder

    ClipEmbedder(clip_dir)  # first use pins the SHA-256
    data = bytearray((clip_dir / "model.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (clip_dir / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="pinned"):
        ClipEmbedder(clip_dir)
    monkeypatch.setenv("DYADBENCH_WEIGHTS", str(tmp_path / "nowhere"))
    with pytest.raises(WeightsError, match="huggingface.co/openai/clip-vit-base-patch32"):
        ClipEmbedder(tmp_path / "missing")
