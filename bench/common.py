"""What the benchmark scripts share."""

import statistics


def summary(samples: list[float]) -> dict:
    """Count, median and 95th percentile of durations in seconds, as milliseconds."""
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 3),
    }
