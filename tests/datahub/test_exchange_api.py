"""GET /api/v1/datahub/{dataset}/{subject_key}: agreements, fields, masking, consent, the log."""

from __future__ import annotations

import pytest
from tests.datahub.conftest import CASE, citizen_subject, person_id

from onewindow.audit.models import AuditEntry
from onewindow.datahub import selectors, services
from onewindow.datahub.keys import person_key
from onewindow.datahub.models import AccessLog, Dataset

pytestmark = pytest.mark.django_db


def read(client, headers, dataset, key, fields):
    return client.get(f"/api/v1/datahub/{dataset}/{key}", {"fields": fields}, **headers)


def last_log() -> AccessLog:
    return AccessLog.objects.order_by("-pk").first()


def test_without_agreement_403_with_its_code_and_a_log_row(client, machine):
    headers = machine("market")
    zhangsan = person_id("zhangsan")
    response = read(client, headers, "population", zhangsan, "name")

    assert response.status_code == 403, response.content
    assert response.json()["code"] == "DATA_AGREEMENT_REQUIRED"
    row = last_log()
    assert row.outcome == "refused"
    assert row.error_code == "DATA_AGREEMENT_REQUIRED"
    assert row.department_code == "market"
    assert row.actor == "client:market-system"
    assert row.case_number == "SFS-2026-000123"
    assert row.purpose == "企业开办联办核验"
    assert row.subject_key == person_key(zhangsan)
    assert row.fields == ["name"]
    assert row.response_digest == ""
    assert zhangsan not in str(AccessLog.objects.values_list().get(pk=row.pk))
    denial = AuditEntry.objects.filter(action="datahub.read_refused").latest("seq")
    assert denial.outcome == "denied"
    assert denial.detail["code"] == "DATA_AGREEMENT_REQUIRED"


def test_fields_outside_the_agreement_are_refused_not_dropped(client, machine, agreement):
    agreement("population", "market", ["name", "birth_date"])
    headers = machine("market")
    response = read(client, headers, "population", person_id("zhangsan"), "name,id_number")

    assert response.status_code == 403, response.content
    body = response.json()
    assert body["code"] == "DATA_FIELDS_NOT_AGREED"
    assert [(d["field"], d["code"], d["message"]) for d in body["details"]] == [
        ("fields", "not_agreed", "id_number")
    ]
    assert "data" not in body
    assert last_log().outcome == "refused"
    assert last_log().error_code == "DATA_FIELDS_NOT_AGREED"


def test_agreed_read_masks_sensitive_fields_unless_granted_in_clear(client, machine, agreement):
    made = agreement(
        "population", "market", ["id_number", "name", "birth_date", "status"], ("name",)
    )
    headers = machine("market")
    zhangsan = person_id("zhangsan")
    response = read(client, headers, "population", zhangsan, "id_number,name,birth_date,status")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["data"] == {
        "id_number": zhangsan[:3] + "*" * 11 + zhangsan[-4:],
        "name": "张三",
        "birth_date": "1990-**-**",
        "status": "alive",
    }
    assert sorted(body["masked"]) == ["birth_date", "id_number"]
    assert body["agreement_id"] == made.pk
    row = last_log()
    assert row.outcome == "allowed"
    assert row.agreement_ref == made.pk
    assert row.response_digest == selectors.response_digest(body["data"])
    assert len(row.response_digest) == 64


def test_clear_text_only_where_the_agreement_says(client, machine, agreement):
    agreement("population", "market", ["id_number", "name"], ("id_number", "name"))
    zhangsan = person_id("zhangsan")
    response = read(client, machine("market"), "population", zhangsan, "id_number")
    assert response.status_code == 200, response.content
    assert response.json()["data"] == {"id_number": zhangsan}
    assert response.json()["masked"] == []


def test_case_number_and_purpose_are_required(client, machine, agreement):
    agreement("population", "market", ["name"])
    headers = machine("market")
    headers.pop("HTTP_X_PURPOSE")
    response = read(client, headers, "population", person_id("zhangsan"), "name")
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "DATA_CONTEXT_REQUIRED"
    assert last_log().error_code == "DATA_CONTEXT_REQUIRED"


def test_client_without_department_is_refused(client, machine):
    response = read(client, machine(None), "legal_entity", "91990100MA0000001X", "name")
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "DATA_CONSUMER_UNKNOWN"
    assert last_log().department_code == ""


def test_unconditional_dataset_needs_no_agreement_but_masks(client, machine, hub):
    from onewindow import demo

    response = read(
        client,
        machine("tax"),
        "legal_entity",
        demo.ENTERPRISE_USCC,
        "name,legal_representative,legal_representative_id_number",
    )
    assert response.status_code == 200, response.content
    lisi = person_id("lisi")
    assert response.json()["data"] == {
        "name": demo.ENTERPRISE_NAME,
        "legal_representative": "李四",
        "legal_representative_id_number": lisi[:3] + "*" * 11 + lisi[-4:],
    }


def test_not_shared_dataset_is_refused(client, machine, hub):
    from onewindow.org.models import Department

    services.dataset_upsert(
        key="case_files",
        name="刑事案件信息",
        source="records",
        subject_type="person",
        owner=Department.objects.get(code="public_security"),
        sharing="not_shared",
        update_frequency="daily",
        fields=[("name", "person.name")],
    )
    response = read(client, machine("market"), "case_files", person_id("zhangsan"), "name")
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "DATA_NOT_SHARED"


def test_unknown_fields_bad_keys_and_unknown_people(client, machine, agreement):
    agreement("population", "market", ["name"])
    headers = machine("market")
    zhangsan = person_id("zhangsan")

    unknown = read(client, headers, "population", zhangsan, "name,shoe_size")
    assert unknown.status_code == 422
    assert unknown.json()["details"][0]["code"] == "unknown_field"

    no_fields = client.get(f"/api/v1/datahub/population/{zhangsan}", **headers)
    assert no_fields.status_code == 422
    assert no_fields.json()["details"][0]["code"] == "missing"

    bad_check = zhangsan[:17] + ("0" if zhangsan[17] != "0" else "1")
    bad = read(client, headers, "population", bad_check, "name")
    assert bad.status_code == 422
    assert bad.json()["details"][0] == {
        "field": "subject_key",
        "code": "check_digit",
        "message": bad.json()["details"][0]["message"],
    }

    from onewindow.kit.validators import id_number_check_char

    stranger17 = "99010219800101999"
    missing = read(
        client, headers, "population", stranger17 + id_number_check_char(stranger17), "name"
    )
    assert missing.status_code == 404
    assert last_log().outcome == "not_found"

    gone = read(client, headers, "no_such_dataset", zhangsan, "name")
    assert gone.status_code == 404
    assert AccessLog.objects.filter(outcome="refused").count() == 3


def test_revoked_agreement_stops_the_next_read(client, machine, agreement, stewards):
    made = agreement("population", "market", ["name"])
    headers = machine("market")
    zhangsan = person_id("zhangsan")
    assert read(client, headers, "population", zhangsan, "name").status_code == 200
    services.agreement_revoke(
        subject=stewards["public_security"], agreement=made, note="到期前终止"
    )
    again = read(client, headers, "population", zhangsan, "name")
    assert again.status_code == 403
    assert again.json()["code"] == "DATA_AGREEMENT_REQUIRED"


def test_consent_bound_data_needs_consent_and_revoking_blocks_the_next_read(
    client, machine, agreement, hub
):
    from onewindow.identity import services as identity
    from onewindow.identity.models import User

    uscc = hub.problem_enterprise_uscc()
    agreement("tax_arrears", "market", ["in_arrears", "arrears_amount"], ("arrears_amount",))
    headers = machine("market")

    refused = read(client, headers, "tax_arrears", uscc, "in_arrears,arrears_amount")
    assert refused.status_code == 403, refused.content
    assert refused.json()["code"] == "DATA_CONSENT_REQUIRED"

    wangwu = User.objects.get(username="wangwu")
    enterprise = identity.enterprise_register(
        uscc=uscc, name=hub.PROBLEM_ENTERPRISE_NAME, legal_representative=wangwu
    )
    consent = services.consent_grant(
        subject=citizen_subject("wangwu", acting_for=enterprise),
        dataset_key="tax_arrears",
        department_code="market",
        purpose="企业变更登记前置核验",
        case_number=CASE["HTTP_X_CASE_NUMBER"],
    )
    allowed = read(client, headers, "tax_arrears", uscc, "in_arrears,arrears_amount")
    assert allowed.status_code == 200, allowed.content
    assert allowed.json()["data"]["in_arrears"] is True
    assert float(allowed.json()["data"]["arrears_amount"]) > 0

    other_case = {**headers, "HTTP_X_CASE_NUMBER": "SFS-2026-999999"}
    assert read(client, other_case, "tax_arrears", uscc, "in_arrears").status_code == 403

    services.consent_revoke(
        subject=citizen_subject("wangwu", acting_for=enterprise), consent_id=consent.pk
    )
    blocked = read(client, headers, "tax_arrears", uscc, "in_arrears")
    assert blocked.status_code == 403
    assert blocked.json()["code"] == "DATA_CONSENT_REQUIRED"


def test_the_catalog_lists_datasets_without_personal_data(client, machine):
    response = client.get("/api/v1/datahub/datasets", **machine("market"))
    assert response.status_code == 200, response.content
    by_key = {d["key"]: d for d in response.json()}
    assert by_key["population"]["sharing"] == "conditional"
    assert by_key["population"]["consent_required"] is False
    assert by_key["tax_arrears"]["consent_required"] is True
    assert by_key["legal_entity"]["sharing"] == "unconditional"
    classes = {f["name"]: f["classification"] for f in by_key["population"]["fields"]}
    assert classes["id_number"] == "sensitive"
    assert Dataset.objects.get(key="customs_open_procedures").owner.code == "customs"


def test_a_citizen_token_cannot_use_the_exchange_api(client, hub):
    from tests.conftest import api_login

    from onewindow import demo

    token = api_login(client, "zhangsan", demo.CITIZEN_PASSWORD).json()["access_token"]
    response = client.get(
        f"/api/v1/datahub/population/{person_id('zhangsan')}",
        {"fields": "name"},
        HTTP_AUTHORIZATION=f"Bearer {token}",
        **CASE,
    )
    assert response.status_code == 403
    assert not AccessLog.objects.exists()


def test_another_process_s_agreement_change_reaches_this_one_by_the_generation(
    client, machine, agreement, stewards, django_capture_on_commit_callbacks
):
    """The sharing configuration is cached per process: a change made elsewhere (here: the
    row ended behind the cache's back, and only the shared generation counter moved, as the
    other process's commit does) stops the next read here."""
    from django.core.cache import cache

    from onewindow.datahub.models import SharingAgreement

    made = agreement("population", "market", ["name"])
    headers = machine("market")
    zhangsan = person_id("zhangsan")
    assert read(client, headers, "population", zhangsan, "name").status_code == 200
    SharingAgreement.objects.filter(pk=made.pk).update(status="revoked")
    # Still cached in this process: the other process has not announced its change yet.
    assert read(client, headers, "population", zhangsan, "name").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        cache.incr(selectors.CONFIG_GENERATION_KEY) if cache.get(
            selectors.CONFIG_GENERATION_KEY
        ) is not None else cache.set(selectors.CONFIG_GENERATION_KEY, 1)
    refused = read(client, headers, "population", zhangsan, "name")
    assert refused.status_code == 403
    assert refused.json()["code"] == "DATA_AGREEMENT_REQUIRED"


def test_the_config_cache_ages_out_without_a_shared_counter(
    client, machine, agreement, monkeypatch
):
    from onewindow.datahub.models import SharingAgreement

    made = agreement("population", "market", ["name"])
    headers = machine("market")
    zhangsan = person_id("zhangsan")
    assert read(client, headers, "population", zhangsan, "name").status_code == 200
    SharingAgreement.objects.filter(pk=made.pk).update(status="revoked")
    monkeypatch.setattr(selectors, "CONFIG_MAX_AGE", 0.0)
    assert read(client, headers, "population", zhangsan, "name").status_code == 403


def test_a_revoked_machine_token_is_refused_at_once_though_it_was_cached(
    client, machine, agreement
):
    from oauth2_provider.models import AccessToken

    agreement("population", "market", ["name"])
    headers = machine("market")
    zhangsan = person_id("zhangsan")
    assert read(client, headers, "population", zhangsan, "name").status_code == 200  # cached
    AccessToken.objects.get(application__client_id="market-system").revoke()
    refused = read(client, headers, "population", zhangsan, "name")
    assert refused.status_code == 401


def test_a_client_moved_to_another_department_reads_for_it_at_once(client, machine, agreement):
    from onewindow.identity.models import ClientPolicy
    from onewindow.org.models import Department

    agreement("population", "market", ["name"])
    headers = machine("market")
    zhangsan = person_id("zhangsan")
    assert read(client, headers, "population", zhangsan, "name").status_code == 200  # cached
    policy = ClientPolicy.objects.get(application__client_id="market-system")
    policy.department = Department.objects.get(code="tax")
    policy.save()  # the console's change: the cached token is dropped
    refused = read(client, headers, "population", zhangsan, "name")
    assert refused.status_code == 403
    assert refused.json()["code"] == "DATA_AGREEMENT_REQUIRED"
    assert last_log().department_code == "tax"


def test_the_hand_written_person_query_names_the_model_s_table():
    from onewindow.datahub.models import Person

    assert f"FROM {Person._meta.db_table} WHERE" in selectors._PERSON_SQL
