"""Estimated cost per generation. No price is published for the model: these are resellers'
per-second prices (shared/api/README.md) and only used for /stats estimates."""

from __future__ import annotations

USD_PER_SECOND = {
    ("720p", True): 0.05,
    ("1080p", True): 0.075,
    ("720p", False): 0.025,
    ("1080p", False): 0.0375,
}


def estimated_cost(resolution: str, audio: bool, seconds: int) -> float:
    return USD_PER_SECOND.get((resolution, audio), 0.075) * seconds
