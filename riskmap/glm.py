r"""Additive non-negative Poisson fits (identity link), for explainable fitted scores.

For features :math:`X` (rows x p, all >= 0, one column of ones for the
background) and counts :math:`y`, :func:`fit_additive` finds :math:`\beta \ge 0`
maximising the Poisson log-likelihood of :math:`\lambda = X\beta` (``counts``)
or the likelihood of :math:`y > 0` under :math:`P(y > 0) = 1 - e^{-X\beta}`
(``binary``: a Poisson hazard, robust to clustered counts). Since
:math:`\lambda` is a sum of non-negative terms :math:`\beta_j x_j`, every
feature's share of the prediction is exact and additive.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from threadpoolctl import ThreadpoolController

_FLOOR = 1e-12
_THREADPOOLS: ThreadpoolController | None = None


def _threadpools() -> ThreadpoolController:
    """The process's BLAS/OpenMP libraries, found once (finding them reads the process map: 20-90 ms a call)."""
    global _THREADPOOLS
    if _THREADPOOLS is None:
        _THREADPOOLS = ThreadpoolController()
    return _THREADPOOLS


def case_control(y: np.ndarray, max_rows_per_class: int = 20_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rows kept by weighted case-control sampling, and their weights (the inverse sampling rate).

    Rows with ``y = 0`` and rows with ``y > 0`` beyond ``max_rows_per_class`` each are kept at random (fixed
    ``seed``); a kept row stands for ``1 / rate`` rows, which keeps the likelihood unbiased. Lets a caller build
    the feature rows of the kept rows only.
    """
    pos = np.asarray(y, dtype=float) > 0
    n = len(pos)
    rows_w = np.ones(n)
    keep = np.ones(n, dtype=bool)
    rng = np.random.default_rng(seed)
    for part in (np.flatnonzero(~pos), np.flatnonzero(pos)):
        if len(part) > max_rows_per_class:
            rate = max_rows_per_class / len(part)
            chosen = rng.random(len(part)) < rate
            keep[part[~chosen]] = False
            rows_w[part[chosen]] = 1.0 / rate
    idx = np.flatnonzero(keep)
    return idx, rows_w[idx]


def fit_additive(
    x: np.ndarray,
    y: np.ndarray,
    *,
    binary: bool = False,
    max_iter: int = 200,
    max_rows_per_class: int = 20_000,
    start: np.ndarray | None = None,
    seed: int = 0,
    row_weights: np.ndarray | None = None,
) -> np.ndarray:
    r"""Non-negative weights of the columns of ``x`` (identity-link Poisson or binary hazard).

    Parameters
    ----------
    x
        Features, rows x p, non-negative (units free: columns are rescaled internally).
    y
        Counts per row (``binary``: only ``y > 0`` matters).
    binary
        Fit :math:`P(y > 0) = 1 - \exp(-x \beta)` instead of :math:`E[y] = x \beta`.
    max_rows_per_class
        Rows with ``y = 0`` (and rows with ``y > 0``) beyond this many are
        subsampled at random (fixed ``seed``) and reweighted by the inverse
        sampling rate, which keeps the likelihood unbiased (weighted
        case-control sampling, :func:`case_control`) and the fit fast.
    start
        Initial weights (e.g. the previous fit's), or None.
    row_weights
        The rows are already a sample (:func:`case_control`) with these weights: no subsampling here.

    Returns
    -------
    numpy.ndarray
        p weights >= 0 (zeros when ``y`` has no positive entry).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n, p = x.shape
    if n == 0 or not (y > 0).any():
        return np.zeros(p)
    t = (y > 0).astype(float) if binary else y
    if row_weights is None:
        idx, rows_w = case_control(t, max_rows_per_class, seed)
        x, t = x[idx], t[idx]
    else:
        rows_w = np.asarray(row_weights, dtype=float)
    pos = t > 0
    scale = np.average(x, axis=0, weights=rows_w)
    used = scale > 0
    xs = x[:, used] / scale[used]
    x_pos, x_zero = xs[pos], xs[~pos]
    t_pos, w_pos = t[pos], rows_w[pos]
    zero_sum = rows_w[~pos] @ x_zero  # the linear part of the likelihood of the y = 0 rows
    total = rows_w.sum()

    def nll(b: np.ndarray) -> tuple[float, np.ndarray]:
        eta = np.maximum(x_pos @ b, _FLOOR)
        if binary:
            e = np.exp(-eta)
            val = zero_sum @ b - w_pos @ np.log(np.maximum(-np.expm1(-eta), _FLOOR))
            grad = zero_sum - x_pos.T @ (w_pos * e / np.maximum(1.0 - e, _FLOOR))
        else:
            val = zero_sum @ b + w_pos @ (eta - t_pos * np.log(eta))
            grad = zero_sum + x_pos.T @ (w_pos * (1.0 - t_pos / eta))
        return float(val) / total, grad / total

    b0 = np.full(xs.shape[1], max(np.average(t, weights=rows_w), 1e-6) / xs.shape[1])
    if start is not None and len(start) == p and np.all(np.isfinite(start)):
        b0 = np.maximum(np.asarray(start, dtype=float)[used] * scale[used], 1e-9)
    # one BLAS thread: the products are small (<= 2 x 20,000 rows), and a second thread that spins waiting
    # for a busy core made each step 4x slower (measured on 2 shared cores)
    with _threadpools().limit(limits=1, user_api="blas"):
        res = minimize(
            nll, b0, jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * xs.shape[1], options={"maxiter": max_iter}
        )
    out = np.zeros(p)
    out[used] = np.maximum(res.x, 0.0) / scale[used]
    return out
