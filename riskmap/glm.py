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

_FLOOR = 1e-12


def fit_additive(x: np.ndarray, y: np.ndarray, *, binary: bool = False, max_iter: int = 500) -> np.ndarray:
    """Non-negative weights of the columns of ``x`` (identity-link Poisson or binary hazard).

    Parameters
    ----------
    x
        Features, rows x p, non-negative (units free: columns are rescaled internally).
    y
        Counts per row (``binary``: only ``y > 0`` matters).
    binary
        Fit :math:`P(y > 0) = 1 - \exp(-x \beta)` instead of :math:`E[y] = x \beta`.

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
    scale = x.mean(axis=0)
    used = scale > 0
    xs = x[:, used] / scale[used]
    t = (y > 0).astype(float) if binary else y
    pos = t > 0

    def nll(b: np.ndarray) -> tuple[float, np.ndarray]:
        eta = np.maximum(xs @ b, _FLOOR)
        if binary:
            e = np.exp(-eta[pos])
            val = eta[~pos].sum() - np.log(np.maximum(-np.expm1(-eta[pos]), _FLOOR)).sum()
            g = np.zeros(n)
            g[~pos] = 1.0
            g[pos] = -e / np.maximum(1.0 - e, _FLOOR)
        else:
            val = eta.sum() - (t[pos] * np.log(eta[pos])).sum()
            g = 1.0 - t / eta
        return float(val) / n, (xs.T @ g) / n

    start = np.full(xs.shape[1], max(t.mean(), 1e-6) / xs.shape[1])
    res = minimize(nll, start, jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * xs.shape[1],
                   options={"maxiter": max_iter})
    out = np.zeros(p)
    out[used] = np.maximum(res.x, 0.0) / scale[used]
    return out
