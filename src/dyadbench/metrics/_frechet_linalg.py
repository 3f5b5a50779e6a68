r"""Linear algebra of the Fréchet distance: PSD factors, triangular products, tr((Σ₁Σ₂)^½).

Kept apart from ``frechet.py`` (the metric functions and the streaming statistics) so each file
stays readable; ``frechet.py`` and ``frechet_interval.py`` are the only users.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla
from scipy.linalg.blas import dtrmm
from threadpoolctl import threadpool_limits


def psd_factor(sigma: np.ndarray) -> tuple[np.ndarray, bool]:
    """A factor ``L`` with ``sigma = L @ L.T`` and whether it is lower-triangular (Cholesky)."""
    try:
        return np.linalg.cholesky(sigma), True
    except np.linalg.LinAlgError:
        # Singular / rank-deficient (n < d, constant features): exact symmetric factor instead.
        w, u = np.linalg.eigh(sigma)
        return u * np.sqrt(np.clip(w, 0.0, None)), False


def tri_product(low: np.ndarray, b: np.ndarray, *, transpose: bool = False, right: bool = False) -> np.ndarray:
    """L·b, Lᵀ·b (``transpose``) or b·L (``right``) for lower-triangular L, by BLAS ``trmm`` (half a
    general product). LAPACK wants column-major arrays: a row-major L is handed over as its
    transpose, a column-major *upper* matrix, so neither L nor a symmetric b is copied (copying
    two 2048² matrices cost as much as the product)."""
    upper = low.T if low.flags.c_contiguous else np.asfortranarray(low).T  # Lᵀ, column-major view
    if right:
        return dtrmm(1.0, upper, b, side=1, lower=0, trans_a=1)
    return dtrmm(1.0, upper, b, side=0, lower=0, trans_a=0 if transpose else 1)


REFINE_RELATIVE = 1e-10  # refine only when the small eigenvalues could move the result by more than this
_INVERSE_ITERATIONS = 30  # block inverse iteration converges in 3-6 steps on Inception-like spectra


def _smallest_singular_values(low: np.ndarray, low_other: np.ndarray, k: int, change_tol: float) -> np.ndarray | None:
    r"""The k smallest singular values of B = Gᵀ L (L, G lower-triangular), or None if not converged.

    Block inverse iteration on BᵀB = Lᵀ Σ_o L: each step applies (BᵀB)⁻¹ = L⁻¹ G⁻ᵀ G⁻¹ L⁻ᵀ by four
    triangular solves, O(d²p) for a block of p = 2k + 8 columns, and the Ritz values are the
    singular values of B Q computed from the factors themselves. Working with the factors, not with
    the formed product, keeps each value accurate to ε‖B‖ = ε√λ_max instead of √(ε λ_max). Ritz
    values decrease monotonically to the true ones; we stop when their sum changes by ≤ ``change_tol``.
    """
    d = low.shape[0]
    p = min(d, 2 * k + 8)
    # A fixed seed: the same inputs give the same digits on every run.
    q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((d, p)))
    # One BLAS thread: on d x p blocks, waking a second thread costs more than it saves (a 2-core
    # run measured 0.13–0.25 s for this loop with two threads, 0.08–0.11 s with one).
    with threadpool_limits(1):
        return _inverse_iteration(low, low_other, q, k, change_tol)


def _inverse_iteration(low: np.ndarray, low_other: np.ndarray, q: np.ndarray, k: int, change_tol: float) -> np.ndarray | None:
    previous = np.inf
    for _ in range(_INVERSE_ITERATIONS):
        y = sla.solve_triangular(low, q, lower=True, trans="T", check_finite=False)
        y = sla.solve_triangular(low_other, y, lower=True, check_finite=False)
        y = sla.solve_triangular(low_other, y, lower=True, trans="T", check_finite=False)
        y = sla.solve_triangular(low, y, lower=True, check_finite=False)
        q, _ = np.linalg.qr(y)
        bq = tri_product(low_other, tri_product(low, q), transpose=True)  # Gᵀ (L Q)
        sv = np.sort(sla.svdvals(bq, check_finite=False))[:k]
        if abs(previous - sv.sum()) <= change_tol:
            return sv
        previous = sv.sum()
    return None


def trace_sqrt_product(factor: np.ndarray, is_triangular: bool, sigma_other: np.ndarray, exact: bool = True,
                        offset: float = 0.0) -> float:
    """tr((Σ_f Σ_o)^{1/2}) given Σ_f = F Fᵀ; FD = ``offset`` − 2·tr.

    Fast route: the eigenvalues of the symmetric C = Fᵀ Σ_o F are those of Σ_f Σ_o. An eigenvalue at
    or below the rank tolerance τ = λ_max·d·ε is known only to about τ, so the fast route's √λ can be
    off by up to √(2τ) for each of the k such eigenvalues: |error of FD| ≤ 2k√(2τ). Only when that
    bound exceeds ``REFINE_RELATIVE`` of the FD (of 2·tr when no ``offset`` is given) do we refine,
    and only those k values: with Σ_o = G Gᵀ,
    C = BᵀB for B = Gᵀ F, so their square roots are B's k smallest singular values, resolved at their
    own scale (ill-conditioned covariances such as Inception features; rank-deficient ones, n < d).
    Both factors triangular (the usual case): block inverse iteration through them
    (``_smallest_singular_values``, O(d²k)). Otherwise (a singular Σ): the eigenvectors V_k of C's
    k smallest eigenvalues, then the singular values of (F V_k)ᵀ G.
    """
    if is_triangular:
        # Σ_o is symmetric: its transpose view is the column-major array BLAS takes without a copy.
        c = tri_product(factor, tri_product(factor, sigma_other.T, right=True), transpose=True)
    else:
        c = factor.T @ sigma_other @ factor
    # No symmetrizing: LAPACK reads one triangle; C's asymmetry is round-off below the solver's own.
    ev = sla.eigh(c, eigvals_only=True, overwrite_a=False, check_finite=False, driver="evd")
    # NumPy's matrix_rank tolerance: eigenvalues below it are indistinguishable from zero.
    tol = (ev.max() if ev.size else 0.0) * len(ev) * np.finfo(np.float64).eps
    small = ev <= tol
    fast = float(np.sqrt(np.clip(ev, 0.0, None)).sum())
    k = int(small.sum())
    scale = offset - 2.0 * fast if offset else 2.0 * fast
    allowed = 0.5 * REFINE_RELATIVE * max(scale, np.finfo(float).tiny)  # on tr, i.e. half the FD's
    if not exact or k == 0 or k * np.sqrt(2.0 * tol) <= allowed:
        return fast
    other, other_triangular = psd_factor(sigma_other)
    sv = None
    if is_triangular and other_triangular:
        # Below k·d·ε·‖B‖ the Ritz values only move by round-off (FD ≈ 0 asks for less than that).
        floor = k * len(ev) * np.finfo(np.float64).eps * np.sqrt(ev.max())
        sv = _smallest_singular_values(factor, other, k, change_tol=max(1e-3 * allowed, floor))
    if sv is None:
        _, vecs = sla.eigh(c, subset_by_index=[0, k - 1], overwrite_a=True, check_finite=False, driver="evr")
        sv = sla.svdvals((factor @ vecs).T @ other, check_finite=False)
    return float(np.sqrt(np.clip(ev[k:], 0.0, None)).sum() + sv.sum())
