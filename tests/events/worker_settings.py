"""Settings for the subprocesses of ``test_worker_kill``: the platform's own settings plus the
slow test consumer. Used as ``DJANGO_SETTINGS_MODULE=tests.events.worker_settings`` with the
repository root on ``PYTHONPATH``; nothing else imports it."""

from onewindow.settings import *  # noqa: F403
from onewindow.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.events.slow_consumer.SlowConsumerConfig"]
