"""How far a step moves each entry, and the precision a gradient carries."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray


def param_scale(array: NDArray[Any], fallback: float) -> float:
    """A typical size of the parameter's entries: its RMS, or ``fallback`` if all zero."""
    if array.size == 0:
        return fallback
    rms = float(np.sqrt(np.mean(np.square(array, dtype=np.float64))))
    return rms if rms > 0 and math.isfinite(rms) else fallback


def entry_scales(array: NDArray[Any], scale: float) -> NDArray[np.float64]:
    """Each entry's own scale for a step: its size, or ``scale`` (the parameter's typical
    size, ``param_scale``) where it is smaller (an entry at 0 still moves)."""
    return np.maximum(np.abs(array.astype(np.float64)), scale)


def gradient_eps(grad: NDArray[Any]) -> float:
    """The precision a gradient was computed in: its dtype's epsilon (float64's if it is
    not a float array)."""
    return float(np.finfo(grad.dtype).eps) if grad.dtype.kind == "f" else 2.0**-52
