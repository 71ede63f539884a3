"""Settings come from the environment with safe defaults (checked in fresh interpreters)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.db import connection
journal = None
if connection.vendor == "sqlite":
    with connection.cursor() as c:
        journal = c.execute("PRAGMA journal_mode").fetchone()[0]
print(json.dumps({"debug": settings.DEBUG, "key": settings.SECRET_KEY,
                  "db": str(settings.DATABASES["default"]["NAME"]),
                  "engine": settings.DATABASES["default"]["ENGINE"],
                  "cache": settings.CACHES["default"]["BACKEND"],
                  "huey": settings.HUEY["huey_class"], "journal": journal,
                  "secure_cookie": settings.SESSION_COOKIE_SECURE,
                  "hsts": settings.SECURE_HSTS_SECONDS,
                  "storage": settings.STORAGES["default"]}))
"""


def probe(tmp_path, **env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ONEWINDOW_")}
    clean.update({"ONEWINDOW_HOME": str(tmp_path), "DJANGO_SETTINGS_MODULE": "onewindow.settings"})
    clean.update(env)
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=clean,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_defaults_are_safe(tmp_path):
    values = probe(tmp_path)
    assert values["debug"] is False
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["db"] == str(tmp_path / "var" / "onewindow.sqlite3")
    assert values["journal"] == "wal"
    assert values["cache"].endswith("LocMemCache")
    assert values["huey"] == "huey.SqliteHuey"
    assert values["secure_cookie"] is False
    assert values["hsts"] == 0
    assert values["storage"] == {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "var" / "media")},
    }


def test_secret_key_is_generated_once_private_and_reused(tmp_path):
    first = probe(tmp_path)["key"]
    key_file = tmp_path / "var" / "secret_key"
    assert key_file.read_text() == first
    assert len(first) >= 50
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert probe(tmp_path)["key"] == first


def test_environment_overrides(tmp_path):
    values = probe(
        tmp_path,
        ONEWINDOW_SECRET_KEY="k" * 60,
        ONEWINDOW_DEBUG="true",
        ONEWINDOW_HTTPS="1",
        ONEWINDOW_REDIS_URL="redis://127.0.0.1:6379/15",
        ONEWINDOW_DATABASE_URL=f"sqlite:///{tmp_path}/other.sqlite3",
    )
    assert values["key"] == "k" * 60
    assert not (tmp_path / "var" / "secret_key").exists()
    assert values["debug"] is True
    assert values["db"] == f"{tmp_path}/other.sqlite3"
    assert values["cache"] == "django_redis.cache.RedisCache"
    assert values["huey"] == "huey.RedisHuey"
    assert values["secure_cookie"] is True
    assert values["hsts"] > 0


def test_s3_bucket_makes_uploads_private_objects_without_signed_urls(tmp_path):
    values = probe(
        tmp_path,
        ONEWINDOW_S3_BUCKET="onewindow-media",
        ONEWINDOW_S3_ENDPOINT_URL="http://s3.internal:9000",
        ONEWINDOW_S3_REGION="cn-north-1",
        ONEWINDOW_S3_ADDRESSING_STYLE="path",
        ONEWINDOW_S3_PREFIX="/city/",
        ONEWINDOW_S3_ACCESS_KEY_ID="AKIAEXAMPLE",
        ONEWINDOW_S3_SECRET_ACCESS_KEY="example-secret",
    )
    assert values["storage"] == {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": "onewindow-media",
            "location": "city",
            "default_acl": "private",
            "querystring_auth": False,
            "file_overwrite": False,
            "endpoint_url": "http://s3.internal:9000",
            "region_name": "cn-north-1",
            "addressing_style": "path",
            "access_key": "AKIAEXAMPLE",
            "secret_key": "example-secret",
        },
    }
    # Without the credential variables boto3's own chain (AWS_* variables, roles) applies.
    bare = probe(tmp_path, ONEWINDOW_S3_BUCKET="onewindow-media")["storage"]["OPTIONS"]
    assert "access_key" not in bare
    assert "endpoint_url" not in bare
