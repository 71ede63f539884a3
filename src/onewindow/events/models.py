"""Outbox tables: the events and, per event, one delivery row per consumer.

``OutboxEvent`` rows are inserted by ``services.emit`` inside the transaction that made the
change, so an event exists if and only if that change was committed. ``key`` is unique: the
same business fact emitted twice (a retried request) is stored once. ``Delivery`` is the
exactly-once ledger: (event, consumer) is unique, and a consumer's handler runs in the same
transaction that marks its row ``done``.
"""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboxEvent(models.Model):
    name = models.CharField(_("event"), max_length=64, db_index=True)
    key = models.CharField(_("idempotency key"), max_length=200)  # unique: see Meta
    payload = models.JSONField(_("payload"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    delivered_at = models.DateTimeField(
        _("delivered at"),
        null=True,
        blank=True,
        help_text=_("Set when every consumer has received the event."),
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")
        # A plain unique index (unique=True on a CharField adds a LIKE index on PostgreSQL).
        constraints = [models.UniqueConstraint(fields=["key"], name="events_event_key")]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(delivered_at__isnull=True),
                name="events_undelivered_idx",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.name} {self.key}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    DONE = "done", _("done")
    DEAD = "dead", _("dead")


class Delivery(models.Model):
    event = models.ForeignKey(  # indexed by the (event, consumer) constraint
        OutboxEvent,
        verbose_name=_("event"),
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_index=False,
    )
    consumer = models.CharField(_("consumer"), max_length=100)
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(fields=["event", "consumer"], name="events_delivery_once")
        ]
        indexes = [
            # The worker's scan: due pending rows, oldest first.
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=Q(status="pending"),
                name="events_delivery_due_idx",
            ),
            models.Index(fields=["status", "consumer"], name="events_delivery_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.consumer} <- #{self.event_id} ({self.status})"
