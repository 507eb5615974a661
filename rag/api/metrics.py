"""A small Prometheus collector: request counts and latency by route, plus index gauges (text format 0.0.4)."""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _labels(**labels: str) -> str:
    def esc(v: str) -> str:
        return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return "{" + ",".join(f'{k}="{esc(v)}"' for k, v in labels.items()) + "}"


class Metrics:
    """Thread-safe counters and histograms, rendered in the Prometheus text format."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self._buckets: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * len(BUCKETS))
        self._sums: dict[tuple[str, str], float] = defaultdict(float)
        self._counts: dict[tuple[str, str], int] = defaultdict(int)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self._requests[(method, route, str(status))] += 1
            key = (method, route)
            i = bisect_left(BUCKETS, seconds)
            if i < len(BUCKETS):
                self._buckets[key][i] += 1
            self._sums[key] += seconds
            self._counts[key] += 1

    def render(self, gauges: dict[str, tuple[str, float]]) -> str:
        """The exposition text; ``gauges`` maps a metric name to (help, value)."""
        lines = [
            "# HELP rag_http_requests_total HTTP requests by method, route and status code.",
            "# TYPE rag_http_requests_total counter",
        ]
        with self._lock:
            for (method, route, status), n in sorted(self._requests.items()):
                lines.append(f"rag_http_requests_total{_labels(method=method, route=route, status=status)} {n}")
            lines += [
                "# HELP rag_http_request_duration_seconds HTTP request latency (until the last body byte is sent).",
                "# TYPE rag_http_request_duration_seconds histogram",
            ]
            for (method, route), counts in sorted(self._buckets.items()):
                running = 0
                for le, n in zip(BUCKETS, counts, strict=True):
                    running += n
                    labels = _labels(method=method, route=route, le=str(le))
                    lines.append(f"rag_http_request_duration_seconds_bucket{labels} {running}")
                total = self._counts[(method, route)]
                labels = _labels(method=method, route=route, le="+Inf")
                lines.append(f"rag_http_request_duration_seconds_bucket{labels} {total}")
                base = _labels(method=method, route=route)
                lines.append(f"rag_http_request_duration_seconds_sum{base} {self._sums[(method, route)]:.6f}")
                lines.append(f"rag_http_request_duration_seconds_count{base} {total}")
        for name, (help_text, value) in gauges.items():
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {value:g}"]
        return "\n".join(lines) + "\n"


class MetricsMiddleware:
    """ASGI middleware timing each HTTP request; the route is the matched path template (not the raw path)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(scope["method"], template, status, time.perf_counter() - start)
