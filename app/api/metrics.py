"""What the API exposes at ``/metrics`` in Prometheus' text format.

One registry per app (not the client library's global one), so two servers in one process —
tests, the load benchmark — count apart. Latency histograms use buckets from 5 ms to 5 min so
P50 and P99 follow with ``histogram_quantile`` whether an answer is a cache hit or a long
generation on a CPU.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0,
                   60.0, 120.0, 300.0)
RATE_BUCKETS = (1, 2, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.requests = Counter("verirag_http_requests", "HTTP requests by route and status.",
                                ["method", "route", "status"], registry=r)
        self.latency = Histogram("verirag_http_request_seconds",
                                 "Time from request to the last byte of the response.",
                                 ["route"], buckets=LATENCY_BUCKETS, registry=r)
        self.first_token = Histogram("verirag_time_to_first_token_seconds",
                                     "Time from request to the first checked answer text.",
                                     ["pack"], buckets=LATENCY_BUCKETS, registry=r)
        self.tokens_per_s = Histogram("verirag_generation_tokens_per_second",
                                      "Decoding speed of generated answers.", ["pack"],
                                      buckets=RATE_BUCKETS, registry=r)
        self.retrieval = Histogram("verirag_retrieval_seconds", "Search time per answered turn.",
                                   ["pack"], buckets=LATENCY_BUCKETS, registry=r)
        self.answers = Counter("verirag_answers", "Turns by pack and decision.",
                               ["pack", "decision"], registry=r)
        self.cache = Counter("verirag_answer_cache", "First-turn answer cache lookups.",
                             ["result"], registry=r)
        self.queue_depth = Gauge("verirag_answer_queue_depth",
                                 "Answers waiting for a free worker.", registry=r)
        self.in_flight = Gauge("verirag_answers_in_flight", "Answers being worked on.",
                               registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
