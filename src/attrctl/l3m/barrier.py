"""The relaxed log barrier of L3M and its schedule (docs/methods.md, L3M).

For a constraint written as z ≤ 0:

    B_{μ,s}(z) = −μ·log(−z)                 for z ≤ −s
               = μ·z/s − μ·log(s) + μ       otherwise,    s = μ²

The two pieces meet at z = −s with the same value (−μ·log s) and slope (μ/s), so B is continuously
differentiable; as μ → 0 it approaches the indicator of z ≤ 0. B′(ĉ) is the Lagrange-multiplier estimate.
"""

from __future__ import annotations

import math


def barrier(z: float, mu: float) -> float:
    """B_{μ,μ²}(z)."""
    s = mu * mu
    return -mu * math.log(-z) if z <= -s else mu * z / s - mu * math.log(s) + mu


def barrier_slope(z: float, mu: float) -> float:
    """B′_{μ,μ²}(z): −μ/z on the log part, μ/s on the linear part (the multiplier estimate)."""
    s = mu * mu
    return -mu / z if z <= -s else mu / s


def mu_at(step: int, total: int, start: float, end: float) -> float:
    """μ decreasing geometrically from `start` at the first step to `end` at the last."""
    if total <= 1:
        return end
    return start * (end / start) ** (step / (total - 1))
