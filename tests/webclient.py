"""Starlette's TestClient (real ASGI over httpx), imported without the httpx2 nudge.

Starlette ≥ 1.10 warns when its test client runs on ``httpx`` rather than ``httpx2``; with
warnings as errors that would fail collection. The dev extra names ``httpx`` until it moves.
"""

from __future__ import annotations

import warnings

from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", "Using `httpx` with `starlette.testclient`", StarletteDeprecationWarning
    )
    from starlette.testclient import TestClient

__all__ = ["TestClient"]
