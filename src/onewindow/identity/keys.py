"""Rotating the keys that protect personal data at rest.

1. Put a new SM4 key in front of ONEWINDOW_FIELD_KEYS (``k2:<hex>,k1:<hex>``) and restart: new
   values use k2 at once, old ones stay readable with k1.
2. Run ``onewindow keys rotate``: every ID number, mobile and TOTP secret is re-encrypted with
   the current key and every look-up hash recomputed with the current ONEWINDOW_LOOKUP_KEY.
3. Remove k1 from the setting.

Look-up hashes cannot be verified with a key that is gone, so after changing the look-up key,
run step 2 before people log in with their ID number or mobile.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from onewindow.audit.services import SYSTEM_ACTOR, audit_record
from onewindow.identity import crypto
from onewindow.identity.models import CitizenProfile


@dataclass
class RotationReport:
    profiles: int = 0
    totp_secrets: int = 0
    recovery_code_sets: int = 0


def field_keys_rotate(*, batch_size: int = 500) -> RotationReport:
    """Re-encrypt personal data with the current key; recompute look-up hashes. Idempotent."""
    from allauth.mfa.models import Authenticator

    ring = crypto.keyring()
    report = RotationReport()
    last_pk = 0
    while True:
        with transaction.atomic():
            profiles = list(
                CitizenProfile.objects.select_for_update()
                .filter(pk__gt=last_pk)
                .order_by("pk")[:batch_size]
            )
            if not profiles:
                break
            for profile in profiles:
                id_number = ring.decrypt(profile.id_number_encrypted, purpose=crypto.ID_NUMBER)
                profile.id_number_encrypted = ring.encrypt(id_number, purpose=crypto.ID_NUMBER)
                profile.id_number_hash = ring.lookup_hash(id_number, purpose=crypto.ID_NUMBER)
                if profile.phone_encrypted:
                    phone = ring.decrypt(profile.phone_encrypted, purpose=crypto.PHONE)
                    profile.phone_encrypted = ring.encrypt(phone, purpose=crypto.PHONE)
                    profile.phone_hash = ring.lookup_hash(phone, purpose=crypto.PHONE)
                profile.save(
                    update_fields=[
                        "id_number_encrypted",
                        "id_number_hash",
                        "phone_encrypted",
                        "phone_hash",
                    ]
                )
            report.profiles += len(profiles)
            last_pk = profiles[-1].pk
    # allauth encrypts the TOTP secret and the recovery-code seed through our MFA adapter.
    fields = {Authenticator.Type.TOTP: "secret", Authenticator.Type.RECOVERY_CODES: "seed"}
    with transaction.atomic():
        for authenticator in Authenticator.objects.select_for_update().filter(
            type__in=list(fields)
        ):
            key = fields[authenticator.type]
            value = ring.decrypt(authenticator.data[key], purpose=crypto.TOTP_SECRET)
            authenticator.data[key] = ring.encrypt(value, purpose=crypto.TOTP_SECRET)
            authenticator.save(update_fields=["data"])
            if authenticator.type == Authenticator.Type.TOTP:
                report.totp_secrets += 1
            else:
                report.recovery_code_sets += 1
    audit_record(
        actor=SYSTEM_ACTOR,
        action="security.field_keys_rotate",
        detail={
            "key": ring.current,
            "profiles": report.profiles,
            "totp_secrets": report.totp_secrets,
            "recovery_code_sets": report.recovery_code_sets,
        },
    )
    return report
