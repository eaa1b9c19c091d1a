"""Is a setting's difference from the best one bigger than the seed noise? Welch's t-test.

Each setting ran once per seed, so it has a few final values of the metric. The best setting
(best mean) is compared with every other one by Welch's t-test, which does not assume the two
settings vary as much from seed to seed:

    t = (mean₁ − mean₂) / √(s₁²/n₁ + s₂²/n₂)
    ν = (s₁²/n₁ + s₂²/n₂)² / ((s₁²/n₁)²/(n₁ − 1) + (s₂²/n₂)²/(n₂ − 1))     (Welch–Satterthwaite)
    p = P(|T_ν| ≥ |t|)                                                        (two-sided)

A setting is **worse** than the best when p < ALPHA, and **within noise** otherwise (more seeds
may still tell them apart). Each setting is one test: with many settings, about one in twenty
of those that are truly as good as the best is called worse by chance (no correction is made).

The tail of Student's t distribution needs no SciPy: with t = √ν·tan θ its density in θ is
proportional to cos^(ν−1) θ on [0, π/2), a smooth bounded function that the midpoint rule
integrates to about 1e-9 for ν ≥ 1.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

import numpy as np

ALPHA = 0.05
STEPS = 20_000  # midpoint-rule steps over [0, π/2]
RULE = (
    "vs best: Welch's t-test of each setting's seeds against the best setting's seeds, two-sided; "
    f"'worse' when p < {ALPHA}, 'within noise' otherwise (more seeds may still separate them); "
    "each setting is tested alone, without a correction for testing many"
)


def t_tail(t: float, dof: float) -> float:
    """P(|T| ≥ |t|) for Student's t distribution with ``dof`` (≥ 1, not necessarily whole)
    degrees of freedom."""
    if math.isinf(t):
        return 0.0
    start = math.atan(abs(t) / math.sqrt(dof))  # θ of |t|
    return integral(start, dof) / integral(0.0, dof)


def integral(start: float, dof: float) -> float:
    """∫ cos^(ν−1) θ dθ from ``start`` to π/2, by the midpoint rule."""
    width = (math.pi / 2 - start) / STEPS
    middles = start + width * (np.arange(STEPS) + 0.5)
    return float(np.sum(np.cos(middles) ** (dof - 1)) * width)


def welch_p_value(a: Sequence[float], b: Sequence[float]) -> float:
    """The two-sided p-value of Welch's t-test that ``a`` and ``b`` have the same mean (each
    needs at least two values)."""
    if len(a) < 2 or len(b) < 2:
        raise ValueError("Welch's t-test needs at least two values on each side")
    mean_a, mean_b = statistics.fmean(a), statistics.fmean(b)
    share_a, share_b = statistics.variance(a) / len(a), statistics.variance(b) / len(b)  # s²/n
    spread = share_a + share_b
    if spread == 0.0:  # every seed gave the same value on both sides
        return 1.0 if mean_a == mean_b else 0.0
    t = (mean_a - mean_b) / math.sqrt(spread)
    dof = spread**2 / (share_a**2 / (len(a) - 1) + share_b**2 / (len(b) - 1))
    return t_tail(t, dof)


def verdict(values: Sequence[float], best: Sequence[float]) -> tuple[str, float]:
    """The verdict on a setting's seed values against the best setting's, and its p-value
    (nan when there are too few seeds to test)."""
    if len(values) < 2 or len(best) < 2:
        return "too few seeds to tell", math.nan
    p = welch_p_value(values, best)
    return ("worse" if p < ALPHA else "within noise"), p
