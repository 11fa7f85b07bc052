"""The notifier's own Prometheus metrics, registered on the app's registry beside the common ones."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram

OTP_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class NotifierMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.deliveries = Counter(
            "notifier_deliveries_total",
            "Notifications finished, by channel, kind and outcome (sent, failed, expired)",
            ["channel", "kind", "outcome"],
            registry=registry,
        ).labels  # type: ignore[assignment]
        self.attempts = Counter(
            "notifier_delivery_attempts_total",
            "Delivery attempts, by channel, kind and outcome"
            " (sent, temporary_failure, permanent_failure, expired)",
            ["channel", "kind", "outcome"],
            registry=registry,
        ).labels  # type: ignore[assignment]
        self.otp_latency = Histogram(
            "notifier_otp_delivery_seconds",
            "From otp.requested occurring to the code accepted by the mail server or SMS gateway",
            ["channel"],
            buckets=OTP_LATENCY_BUCKETS,
            registry=registry,
        ).labels  # type: ignore[assignment]
        self.alerts = Counter(
            "notifier_message_alerts_total",
            "Message alerts per recipient, by outcome: scheduled, coalesced, no_channel, read_already"
            " when a message arrives; sent, failed, expired, cancelled, elsewhere when one is due",
            ["outcome"],
            registry=registry,
        ).labels  # type: ignore[assignment]


NOTIFIER_METRICS = web.AppKey("notifier_metrics", NotifierMetrics)
