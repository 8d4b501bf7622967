"""The judge server's metrics in the Prometheus text exposition format (version 0.0.4), written here: a few counters,
gauges and one latency histogram need no client library."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

# seconds; a request waits for model calls of about 0.1-10 s, and for a queue ahead of it
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
PREFIX = "jurist_serve_"


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    text = ",".join(f'{key}="{_escape(value)}"' for key, value in pairs)
    return "{" + text + "}" if text else ""


def _escape(value: str) -> str:
    """A label value as the format wants it: backslash, double quote and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class Histogram:
    """Request latencies per endpoint: cumulative bucket counts, their sum and count."""

    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.buckets = buckets
        self._counts: dict[str, list[int]] = {}
        self._sums: dict[str, float] = {}

    def observe(self, endpoint: str, seconds: float) -> None:
        counts = self._counts.setdefault(endpoint, [0] * (len(self.buckets) + 1))
        for i, bound in enumerate(self.buckets):
            if seconds <= bound:
                counts[i] += 1
        counts[-1] += 1  # +Inf
        self._sums[endpoint] = self._sums.get(endpoint, 0.0) + seconds

    def lines(self, name: str) -> list[str]:
        out = []
        for endpoint, counts in sorted(self._counts.items()):
            for bound, count in zip([*self.buckets, math.inf], counts, strict=True):
                out.append(f"{name}_bucket{_labels([('endpoint', endpoint), ('le', _number(bound))])} {count}")
            out.append(f"{name}_sum{_labels([('endpoint', endpoint)])} {_number(self._sums[endpoint])}")
            out.append(f"{name}_count{_labels([('endpoint', endpoint)])} {counts[-1]}")
        return out


class Metrics:
    """What the server counts; `render` writes them with the gauges of the moment."""

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str]] = Counter()  # (endpoint, status)
        self.items: Counter[str] = Counter()  # by outcome: ok, failed
        self.failures: Counter[str] = Counter()  # items without a reward, by reason
        self.latency = Histogram()

    def request(self, endpoint: str, status: int, seconds: float) -> None:
        self.requests[(endpoint, str(status))] += 1
        self.latency.observe(endpoint, seconds)

    def render(self, *, gauges: dict[str, tuple[str, float]], counters: dict[str, tuple[str, float]]) -> str:
        """The exposition: the server's own counters and histogram, with `gauges` and `counters` (name -> (help,
        value)) read at this moment (items in flight, the backends' errors and cache hits)."""
        lines: list[str] = []

        def family(name: str, kind: str, about: str, samples: list[str]) -> None:
            lines.extend([f"# HELP {PREFIX}{name} {about}", f"# TYPE {PREFIX}{name} {kind}", *samples])

        family(
            "requests_total",
            "counter",
            "HTTP requests answered, by endpoint and status.",
            [
                f"{PREFIX}requests_total{_labels([('endpoint', e), ('status', s)])} {n}"
                for (e, s), n in sorted(self.requests.items())
            ],
        )
        family(
            "items_total",
            "counter",
            "Items judged, by outcome (ok: a reward; failed: none).",
            [f"{PREFIX}items_total{_labels([('outcome', o)])} {self.items[o]}" for o in ("ok", "failed")],
        )
        family(
            "item_failures_total",
            "counter",
            "Items without a reward, by reason.",
            [f"{PREFIX}item_failures_total{_labels([('reason', r)])} {n}" for r, n in sorted(self.failures.items())],
        )
        for name, (about, value) in counters.items():
            family(name, "counter", about, [f"{PREFIX}{name} {_number(value)}"])
        for name, (about, value) in gauges.items():
            family(name, "gauge", about, [f"{PREFIX}{name} {_number(value)}"])
        family(
            "request_duration_seconds",
            "histogram",
            "Time from a request's arrival to its answer, by endpoint.",
            self.latency.lines(f"{PREFIX}request_duration_seconds"),
        )
        return "\n".join(lines) + "\n"
