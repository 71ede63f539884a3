"""How a data subject is named inside the hub, and which subject the caller is.

A person is keyed by the HMAC-SM3 look-up hash of their ID number — the same purpose as
identity's (``citizen.id_number``), so a citizen account and its registry row match without
decrypting either; an enterprise is keyed by its USCC (public by law).
"""

from __future__ import annotations

from dataclasses import dataclass

from onewindow.datahub.models import SubjectType
from onewindow.identity import crypto
from onewindow.identity.access import CITIZEN, Subject
from onewindow.identity.selectors import citizen_lookup_hash
from onewindow.kit import validators

ID_NUMBER_PURPOSE = crypto.ID_NUMBER


def person_key(id_number: str) -> str:
    return crypto.lookup_hash(validators.normalize_id_number(id_number), ID_NUMBER_PURPOSE)


@dataclass(frozen=True)
class DataSubject:
    """The person or enterprise whose data it is."""

    subject_type: str
    key: str
    label: str  # what to show: the enterprise's name, or empty for the person themself


def data_subject_of(subject: Subject) -> DataSubject | None:
    """The data subject a logged-in citizen speaks for: the enterprise they act for in this
    session, else themself (if they have real-name data)."""
    if subject.kind != CITIZEN or subject.user is None:
        return None
    if subject.acting_for is not None:
        enterprise = subject.acting_for
        return DataSubject(SubjectType.ENTERPRISE, enterprise.uscc, enterprise.name)
    # The hash only: identity's real-name row is not decrypted here.
    key = citizen_lookup_hash(user=subject.user)
    if key is None:
        return None
    return DataSubject(SubjectType.PERSON, key, "")


def may_consent_for(subject: Subject) -> bool:
    """Consent for an enterprise is given by its legal representative, not by an agent."""
    if subject.acting_for is None:
        return True
    return (
        subject.user is not None and subject.acting_for.legal_representative_id == subject.user.pk
    )
