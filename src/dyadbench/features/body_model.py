"""Body-model files a metric convention needs (EMAGE's beat consistency): read, checked, pinned.

* ``SMPLX_NEUTRAL_2020.npz`` (weights ``smplx_neutral_2020``): only ``J_regressor``,
  ``v_template``, ``kintree_table`` and the mean hand poses are read, with ``allow_pickle=False`` — the file's pickled
  members (``joint2num``, ``part2num``) are never unpickled. Rest joints = ``J_regressor @
  v_template`` (betas zero: Seamless publishes none), parents = ``kintree_table[0]`` with the root's
  entry (4294967295 in SMPL files) set to −1, as ``smplx`` does. A SMPL-H model (52 joints) in the
  same npz layout also loads: its first 22 joints are SMPL-X's.
* ``mean_vel_smplxflame_30.npy`` (weights ``emage_mean_velocity``): 55 per-joint mean speeds.

Both are looked up and verified like network weights (``features.weights``); the body model,
which has no published digest, is pinned once it has given a valid skeleton.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .weights import REGISTRY, pin, resolve, verify

BODY_JOINTS = 22


def load_body_model(path: str | Path | None = None, name: str = "smplx_neutral_2020") -> dict:
    """``{"rest_joints": (J, 3) float64, "parents": (J,) int64}`` of the body model file, and
    ``"hands_mean"`` (90,) when it has SMPL-X's ``hands_meanl``/``hands_meanr``."""
    spec = REGISTRY[name]
    p = resolve(name, path)
    try:
        with np.load(p, allow_pickle=False) as z:
            missing = [k for k in ("J_regressor", "v_template", "kintree_table") if k not in z.files]
            if missing:
                raise spec.error(f"{p} has no member(s) {missing}: not an SMPL-X/SMPL-H model npz")
            regressor = np.asarray(z["J_regressor"], np.float64)
            template = np.asarray(z["v_template"], np.float64)
            kintree = np.asarray(z["kintree_table"])
            hands = [np.asarray(z[k], np.float64).reshape(-1) for k in ("hands_meanl", "hands_meanr") if k in z.files]
    except (OSError, ValueError) as exc:
        raise spec.error(f"{p} is not a readable npz body model ({exc})") from exc
    n_joints = regressor.shape[0] if regressor.ndim == 2 else 0
    if (regressor.ndim != 2 or template.ndim != 2 or template.shape[1] != 3 or regressor.shape[1] != template.shape[0]
            or kintree.shape != (2, n_joints) or n_joints < BODY_JOINTS):
        raise spec.error(f"{p}: J_regressor {regressor.shape}, v_template {template.shape}, kintree_table "
                         f"{kintree.shape}; expected (J, V), (V, 3), (2, J) with J ≥ {BODY_JOINTS}")
    parents = kintree[0].astype(np.int64)
    parents[0] = -1
    rest = regressor @ template
    if not np.isfinite(rest).all() or any(not 0 <= parents[j] < j for j in range(1, n_joints)):
        raise spec.error(f"{p}: its joints are not finite or its kinematic tree is not in SMPL's parent-first order")
    if not spec.sha256:
        pin(name, verify(spec, p))
    out = {"rest_joints": rest, "parents": parents}
    if len(hands) == 2 and all(h.shape == (45,) for h in hands):
        out["hands_mean"] = np.concatenate(hands)  # smplx adds these to the hand poses (flat_hand_mean=False)
    return out


def load_mean_velocity(path: str | Path | None = None) -> np.ndarray:
    """EMAGE's per-joint mean speeds (55 values, float32 as published)."""
    spec = REGISTRY["emage_mean_velocity"]
    p = resolve("emage_mean_velocity", path)
    try:
        values = np.load(p, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise spec.error(f"{p} is not a readable .npy array ({exc})") from exc
    if values.ndim != 1 or len(values) < BODY_JOINTS or not (np.isfinite(values) & (values > 0)).all():
        raise spec.error(f"{p}: shape {values.shape}; expected ≥ {BODY_JOINTS} positive finite per-joint speeds")
    return values
