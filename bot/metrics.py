"""Prometheus metrics in a registry of the application's own (no process-global state)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.updates = Counter(
            "congvu_updates_total",
            "Updates received, by outcome",
            ["channel", "outcome"],
            registry=r,
        )
        self.latency = Histogram(
            "congvu_handler_seconds",
            "Time to handle one update",
            ["channel"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=r,
        )
        self.sent = Counter(
            "congvu_messages_sent_total", "Messages delivered", ["channel"], registry=r
        )
        self.rate_limited = Counter(
            "congvu_429_received_total", "HTTP 429 answers received", ["channel"], registry=r
        )
        self.outbox_depth = Gauge(
            "congvu_outbox_depth", "Outbox messages waiting to be sent", registry=r
        )
        self.reminders = Counter(
            "congvu_reminders_total", "Reminders by result", ["result"], registry=r
        )

    def observe_delivery(self, event: str, channel: str) -> None:
        """Delivery's hook: count what went out and the platforms' 429s."""
        if event == "sent":
            self.sent.labels(channel).inc()
        elif event == "429":
            self.rate_limited.labels(channel).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
