"""Hypothesis profiles of the fuzzing suite: brief in CI, long on demand.

    python -m pytest -q tests/fuzz                              # "ci": 100 examples a property
    HYPOTHESIS_PROFILE=long python -m pytest -q tests/fuzz      # 5,000 a property
    HYPOTHESIS_PROFILE=long HYPOTHESIS_MAX_EXAMPLES=50000 python -m pytest -q tests/fuzz

No example database is written (`database=None`): every run draws afresh, from the seed
pytest prints on failure (``--hypothesis-seed=N`` replays one).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,  # timing-free: the machine is shared
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("ci", max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "100")), **_COMMON)
settings.register_profile(
    "long", max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "5000")), **_COMMON
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
