"""Agreements (data stewards), consent rules, personal data at rest, the append-only log."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.datahub.conftest import citizen_subject, person_id, staff_subject

from onewindow.datahub import services
from onewindow.datahub.keys import person_key
from onewindow.datahub.models import AccessLog, AppendOnlyError, Dataset, Person, SharingAgreement
from onewindow.identity.models import CitizenProfile
from onewindow.kit.errors import ApiError

pytestmark = pytest.mark.django_db
NEXT_YEAR = dt.date.today() + dt.timedelta(days=300)


def request(subject, dataset="population", fields=("name",), **changes):
    values = {
        "subject": subject,
        "dataset": Dataset.objects.get(key=dataset),
        "fields": list(fields),
        "purpose": "核验身份",
        "legal_basis": "《户口登记条例》",
        "expires_on": NEXT_YEAR,
    }
    values.update(changes)
    return services.agreement_request(**values)


def code_of(excinfo) -> str:
    return excinfo.value.error.code


def test_only_stewards_request_and_only_the_owners_steward_approves(stewards):
    with pytest.raises(ApiError) as not_steward:
        request(staff_subject("market_reviewer"))
    assert code_of(not_steward) == "DATA_STEWARD_REQUIRED"

    pending = request(stewards["market"])
    assert pending.status == "pending"
    assert pending.consumer.code == "market"
    for wrong in (stewards["market"], stewards["tax"], staff_subject("police_reviewer")):
        with pytest.raises(ApiError) as refused:
            services.agreement_decide(subject=wrong, agreement=pending, approve=True)
        assert code_of(refused) == "DATA_STEWARD_REQUIRED"

    approved = services.agreement_decide(
        subject=stewards["public_security"], agreement=pending, approve=True
    )
    assert approved.status == "approved"
    assert approved.decided_by.username == "public_security_steward"
    with pytest.raises(ApiError) as twice:
        services.agreement_decide(
            subject=stewards["public_security"], agreement=pending, approve=False
        )
    assert code_of(twice) == "DATA_AGREEMENT_NOT_PENDING"


def test_a_new_approval_supersedes_the_agreement_in_force(stewards):
    owner = stewards["public_security"]
    first = services.agreement_decide(
        subject=owner, agreement=request(stewards["market"]), approve=True
    )
    second = services.agreement_decide(
        subject=owner,
        agreement=request(stewards["market"], fields=("name", "status")),
        approve=True,
    )
    first.refresh_from_db()
    assert first.status == "superseded"
    assert second.status == "approved"
    assert SharingAgreement.objects.filter(status="approved").count() == 1


def test_agreement_request_validation(stewards, hub):
    from onewindow.datahub.models import DataElement

    DataElement.objects.filter(key="person.sex").update(classification="core")
    with pytest.raises(ApiError) as excinfo:
        request(
            stewards["market"],
            fields=("name", "sex", "shoe_size"),
            clear_fields=["status"],
            expires_on=dt.date.today(),
        )
    codes = {(d.field, d.code) for d in excinfo.value.details}
    assert codes == {
        ("fields", "core_data"),
        ("fields", "unknown_field"),
        ("clear_fields", "not_in_fields"),
        ("expires_on", "past"),
    }
    with pytest.raises(ApiError) as unconditional:
        request(stewards["market"], dataset="legal_entity")
    assert unconditional.value.details[0].code == "not_conditional"


def test_consent_rules(hub):
    from onewindow.identity.models import Enterprise

    enterprise = Enterprise.objects.get(uscc=hub._demo().ENTERPRISE_USCC)
    lisi = citizen_subject("lisi", acting_for=enterprise)

    with pytest.raises(ApiError) as person_dataset:
        services.consent_grant(
            subject=citizen_subject("zhangsan"),
            dataset_key="tax_arrears",
            department_code="market",
            purpose="x",
            expires_on=NEXT_YEAR,
        )
    assert code_of(person_dataset) == "DATA_CONSENT_NOT_APPLICABLE"

    with pytest.raises(ApiError) as unbounded:
        services.consent_grant(
            subject=lisi, dataset_key="tax_arrears", department_code="market", purpose="核验"
        )
    assert [d.code for d in unbounded.value.details] == ["missing"]

    with pytest.raises(ApiError) as too_long:
        services.consent_grant(
            subject=lisi,
            dataset_key="tax_arrears",
            department_code="market",
            purpose="核验",
            expires_on=dt.date.today() + dt.timedelta(days=366),
        )
    assert [d.code for d in too_long.value.details] == ["too_long"]

    agent = citizen_subject("wangwu", acting_for=enterprise)
    with pytest.raises(ApiError) as not_representative:
        services.consent_grant(
            subject=agent,
            dataset_key="tax_arrears",
            department_code="market",
            purpose="核验",
            expires_on=NEXT_YEAR,
        )
    assert code_of(not_representative) == "DATA_CONSENT_NOT_APPLICABLE"

    consent = services.consent_grant(
        subject=lisi,
        dataset_key="tax_arrears",
        department_code="market",
        purpose="核验",
        expires_on=dt.date.today(),
    )
    assert consent.subject_key == enterprise.uscc
    assert consent.is_active()
    assert not consent.is_active(at=consent.expires_at)

    with pytest.raises(ApiError) as someone_else:
        services.consent_revoke(subject=citizen_subject("zhangsan"), consent_id=consent.pk)
    assert code_of(someone_else) == "NOT_FOUND"


def test_population_id_numbers_are_encrypted_and_match_identity_by_hash(hub):
    zhangsan = person_id("zhangsan")
    person = Person.objects.get(id_number_hash=person_key(zhangsan))
    assert person.name == "张三"
    assert person.id_number_encrypted.startswith("sm4gcm:")
    assert zhangsan not in person.id_number_encrypted
    profile = CitizenProfile.objects.get(user__username="zhangsan")
    assert profile.id_number_hash == person.id_number_hash
    for row in Person.objects.values_list("id_number_encrypted", "id_number_hash")[:50]:
        assert not any(len(v) == 18 and v[:17].isdigit() for v in row)


def test_the_access_log_is_append_only(hub):
    row = services.access_log_append(actor="client:x", dataset_key="population", outcome="refused")
    row.purpose = "changed"
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
    assert AccessLog.objects.get(pk=row.pk).purpose == ""


def test_key_rotation_re_encrypts_the_registry(hub, settings):
    from onewindow.identity import crypto

    zhangsan = person_id("zhangsan")
    before = Person.objects.get(id_number_hash=person_key(zhangsan))
    old_keys = settings.FIELD_ENCRYPTION_KEYS
    settings.FIELD_ENCRYPTION_KEYS = "k9:" + "ab" * 16 + "," + old_keys
    settings.LOOKUP_HASH_KEY = "cd" * 32
    crypto.keyring.cache_clear()
    try:
        assert services.population_keys_rotate(batch_size=64) == Person.objects.count()
        after = Person.objects.get(pk=before.pk)
        assert after.id_number_encrypted.startswith("sm4gcm:k9:")
        assert after.id_number_hash == person_key(zhangsan) != before.id_number_hash
    finally:
        crypto.keyring.cache_clear()


def test_staff_read_for_their_department_only_in_a_casework_role(agreement):
    from onewindow.datahub import selectors

    agreement("population", "market", ["status"])
    kwargs = {
        "dataset_key": "population",
        "subject_key": person_id("zhangsan"),
        "fields": ["status"],
        "case_number": "SFS-2026-000124",
        "purpose": "窗口受理核验",
    }
    result = selectors.dataset_read(subject=staff_subject("market_reviewer"), **kwargs)
    assert result.data == {"status": "alive"}
    assert AccessLog.objects.get(pk=result.log_id).actor == "market_reviewer"
    with pytest.raises(ApiError) as steward:
        selectors.dataset_read(subject=staff_subject("market_steward"), **kwargs)
    assert code_of(steward) == "DATA_CONSUMER_UNKNOWN"
    with pytest.raises(ApiError) as other_department:
        selectors.dataset_read(subject=staff_subject("health_reviewer"), **kwargs)
    assert code_of(other_department) == "DATA_AGREEMENT_REQUIRED"
