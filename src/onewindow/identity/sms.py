"""SMS gateways (短信网关) behind one interface, chosen by ``settings.SMS_GATEWAY``.

The platform never calls a vendor directly: a city plugs in its gateway by subclassing
``SmsGateway``. ``LogGateway`` is for the demo and tests: it writes the message to the log.
"""

from __future__ import annotations

import logging
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from onewindow.kit.masking import mask_phone

logger = logging.getLogger("onewindow.sms")


class SmsGateway:
    def send(self, *, phone: str, text: str) -> None:
        raise NotImplementedError


class LogGateway(SmsGateway):
    """Demo gateway: logs the text (with the number masked) instead of sending it."""

    sent: list[tuple[str, str]] = []  # kept for tests: (phone, text), newest last

    def send(self, *, phone: str, text: str) -> None:
        LogGateway.sent.append((phone, text))
        del LogGateway.sent[:-100]
        logger.info(
            "sms (demo gateway, not sent)", extra={"phone": mask_phone(phone), "text": text}
        )


@cache
def gateway() -> SmsGateway:
    return import_string(settings.SMS_GATEWAY)()
