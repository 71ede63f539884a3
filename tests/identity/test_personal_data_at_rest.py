"""ID numbers, mobiles and TOTP secrets never reach the database in clear."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from django.db import connection

from onewindow import demo
from onewindow.identity import crypto
from onewindow.identity.keys import field_keys_rotate
from onewindow.identity.models import CitizenProfile


def database_dump() -> str:
    """Everything the database holds, as text: pg_dump on PostgreSQL, iterdump on SQLite."""
    if connection.vendor == "sqlite":
        return "\n".join(connection.connection.iterdump())
    settings = connection.settings_dict
    pg_dump = shutil.which("pg_dump")
    assert pg_dump, "pg_dump is needed to dump the PostgreSQL test database"
    result = subprocess.run(
        [
            pg_dump,
            "--data-only",
            "-h",
            settings["HOST"] or "127.0.0.1",
            "-p",
            str(settings["PORT"] or 5432),
            "-U",
            settings["USER"] or "postgres",
            settings["NAME"],
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return result.stdout


@pytest.mark.django_db(transaction=True)  # committed rows, so pg_dump sees them
def test_a_database_dump_holds_no_plaintext_id_number_phone_or_totp_secret():
    demo.seed()
    dump = database_dump()
    assert "示范市示范科技有限公司" in dump  # the dump really has the seeded data
    secrets = []
    for account in demo.ACCOUNTS:
        secrets += [account.id_number, account.phone, account.totp_secret]
    secrets = [s for s in secrets if s]
    assert len(secrets) == 2 * len(demo.CITIZENS) + len([a for a in demo.ACCOUNTS if a.totp_secret])
    for secret in secrets:
        assert secret not in dump, "found in clear in the database dump"
        assert secret.lower() not in dump
    # The national-number part of each mobile is not stored in any other spelling either.
    for account in demo.CITIZENS:
        assert f"+86{account.phone}" not in dump


@pytest.mark.django_db
def test_rotation_re_encrypts_everything_with_the_new_key(settings):
    demo.seed()
    old_key = settings.FIELD_ENCRYPTION_KEYS.split(",")[0]
    settings.FIELD_ENCRYPTION_KEYS = f"k9:{'ab' * 16},{old_key}"
    crypto.keyring.cache_clear()
    try:
        report = field_keys_rotate(batch_size=2)
        assert report.profiles == len(demo.CITIZENS)
        assert report.totp_secrets == len([a for a in demo.ACCOUNTS if a.totp_secret])
        for profile in CitizenProfile.objects.all():
            assert profile.id_number_encrypted.startswith("sm4gcm:k9:")
            assert profile.phone_encrypted.startswith("sm4gcm:k9:")
        # Logins by ID number still resolve after rotation.
        from onewindow.identity.backends import user_for_identifier

        zhangsan = next(a for a in demo.CITIZENS if a.username == "zhangsan")
        assert user_for_identifier(zhangsan.id_number).username == "zhangsan"
        assert user_for_identifier(zhangsan.phone).username == "zhangsan"
        # Now the old key can go, and everything still decrypts.
        settings.FIELD_ENCRYPTION_KEYS = f"k9:{'ab' * 16}"
        crypto.keyring.cache_clear()
        for profile in CitizenProfile.objects.all():
            assert len(crypto.decrypt(profile.id_number_encrypted, crypto.ID_NUMBER)) == 18
    finally:
        crypto.keyring.cache_clear()


@pytest.mark.django_db
def test_failed_logins_by_id_number_or_mobile_leave_no_clear_identifier(client):
    from axes.models import AccessAttempt

    from onewindow.audit.models import AuditEntry

    demo.seed()
    zhangsan = next(a for a in demo.CITIZENS if a.username == "zhangsan")
    for login in (zhangsan.id_number, zhangsan.phone, "+86 " + zhangsan.phone):
        client.post(
            "/api/v1/auth/login",
            {"username": login, "password": "Wrong-pass-1"},
            content_type="application/json",
        )
    stored = list(AccessAttempt.objects.values_list("username", flat=True))
    stored += list(AuditEntry.objects.values_list("actor", flat=True))
    stored += [str(d) for d in AuditEntry.objects.values_list("detail", flat=True)]
    text = " ".join(stored)
    assert zhangsan.id_number not in text
    assert zhangsan.phone not in text
    # Both spellings of the mobile count against the same (hashed) login name.
    assert AccessAttempt.objects.filter(username__startswith="phone:").count() == 1
    assert AccessAttempt.objects.get(username__startswith="phone:").failures_since_start == 2


@pytest.mark.django_db
def test_five_failures_by_id_number_lock_that_login_name():
    from django.test import Client

    demo.seed()
    zhangsan = next(a for a in demo.CITIZENS if a.username == "zhangsan")
    client = Client()
    answers = [
        client.post(
            "/api/v1/auth/login",
            {"username": zhangsan.id_number, "password": "Bad-1x"},
            content_type="application/json",
        ).json()["code"]
        for _ in range(5)
    ]
    assert answers == ["INVALID_CREDENTIALS"] * 4 + ["ACCOUNT_LOCKED"]
    right = client.post(
        "/api/v1/auth/login",
        {"username": zhangsan.id_number, "password": zhangsan.password},
        content_type="application/json",
    )
    assert right.json()["code"] == "ACCOUNT_LOCKED"


@pytest.mark.django_db
def test_rotation_covers_recovery_codes(settings):
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    from onewindow.identity.models import User

    demo.seed()
    admin = User.objects.get(username="sysadmin")
    codes = RecoveryCodes.activate(admin)
    first_code = codes.get_unused_codes()[0]
    old_key = settings.FIELD_ENCRYPTION_KEYS.split(",")[0]
    settings.FIELD_ENCRYPTION_KEYS = f"k8:{'cd' * 16},{old_key}"
    crypto.keyring.cache_clear()
    try:
        report = field_keys_rotate()
        assert report.recovery_code_sets == 1
        settings.FIELD_ENCRYPTION_KEYS = f"k8:{'cd' * 16}"  # the old key is gone
        crypto.keyring.cache_clear()
        rc = Authenticator.objects.get(user=admin, type=Authenticator.Type.RECOVERY_CODES)
        assert rc.data["seed"].startswith("sm4gcm:k8:")
        assert RecoveryCodes(rc).validate_code(first_code)
    finally:
        crypto.keyring.cache_clear()
