"""Settings for the whole suite."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

# Hypothesis' default 200 ms deadline and its too_slow health check measure wall-clock time, which a loaded CI host
# stretches: a property test fails by its examples, never by how long a descheduled one took.
settings.register_profile("pmip6", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("pmip6")
