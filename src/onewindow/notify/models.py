"""In-app notifications (站内消息).

A ``Notification`` is one event for one recipient. It stores the event's name (``kind``) and
display parameters, never a finished sentence: the text is rendered when it is shown
(``messages.render``), in the reader's language. ``(recipient, event)`` is unique, so a
redelivered event can never notify anyone twice.
"""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,  # a person's messages go with their account
        related_name="notifications",
    )
    event = models.ForeignKey(
        "events.OutboxEvent", verbose_name=_("event"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=64)
    params = models.JSONField(_("parameters"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    link = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(fields=["recipient", "event"], name="notify_once_per_event")
        ]
        indexes = [
            models.Index(fields=["recipient", "read_at", "created_at"], name="notify_inbox_idx")
        ]

    def __str__(self) -> str:
        return f"{self.kind} -> {self.recipient_id}"

    @property
    def unread(self) -> bool:
        return self.read_at is None

    @property
    def message(self) -> str:
        from onewindow.notify.messages import render

        return render(self.kind, self.params)
