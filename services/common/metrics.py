"""Prometheus metrics, one registry per app so that several apps can live in one test process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        labels = {"service": service}
        self.http_requests = Counter(
            "http_requests_total",
            "HTTP requests answered, by route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        ).labels  # type: ignore[assignment]
        self.http_latency = Histogram(
            "http_request_duration_seconds",
            "Time from request to response, by route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        ).labels  # type: ignore[assignment]
        self.events_published = Counter(
            "events_published_total",
            "Events relayed from the outbox and confirmed by the broker",
            ["type"],
            registry=self.registry,
        ).labels  # type: ignore[assignment]
        self.events_consumed = Counter(
            "events_consumed_total",
            "Events taken from a queue, by outcome (handled, duplicate, retried, dead_lettered)",
            ["queue", "type", "outcome"],
            registry=self.registry,
        ).labels  # type: ignore[assignment]
        self.event_handling_latency = Histogram(
            "event_handling_duration_seconds",
            "Time to handle one event, by queue",
            ["queue"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        ).labels  # type: ignore[assignment]
        self.outbox_backlog = Gauge(
            "outbox_backlog_events",
            "Events in the outbox not yet relayed",
            registry=self.registry,
        )
        self.outbox_oldest_age = Gauge(
            "outbox_oldest_event_age_seconds",
            "Age of the oldest event waiting in the outbox (0 when empty)",
            registry=self.registry,
        )
        self.consumer_lag = Gauge(
            "queue_messages_ready",
            "Messages waiting in a consumed queue, as last seen when declaring it",
            ["queue"],
            registry=self.registry,
        ).labels  # type: ignore[assignment]
        self.service_info = Gauge("service_info", "Which service this is", ["service"],
                                  registry=self.registry)
        self.service_info.labels(**labels).set(1)
