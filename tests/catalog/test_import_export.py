"""The whole catalog as YAML: round trip, all-or-nothing import, a report naming every problem."""

from __future__ import annotations

import copy

import pytest
import yaml

from onewindow import cli
from onewindow.catalog import services
from onewindow.catalog.models import ServiceItem, ServiceVersion, VersionStatus


def test_export_import_export_is_identical(sample_catalog):
    first = services.catalog_export_yaml()
    report = services.catalog_import(services.catalog_load_yaml(first))
    assert (report.created, report.updated, report.unchanged) == (0, 0, 3)
    assert services.catalog_export_yaml() == first
    assert ServiceVersion.objects.count() == 3  # unchanged items got no new version


def test_a_malformed_file_changes_nothing_and_names_item_field_and_reason(sample_catalog):
    before = services.catalog_export_yaml()
    versions = ServiceVersion.objects.count()
    data = yaml.safe_load(before)
    broken = copy.deepcopy(data)
    broken["items"][0]["promised_limit_days"] = 30  # business_license: legal is 15
    broken["items"][0]["name"] = "改了名字（不应生效）"
    broken["items"][1]["form"]["fields"][0]["type"] = "colour"
    broken["items"][1]["department"] = "no_such_department"
    broken["items"][2]["materials"] = [
        {
            "key": "x",
            "name": "证明",
            "necessity": "conditional",
            "required_if": "missing_field == 1",
            "form": "paper",
        }
    ]
    with pytest.raises(services.CatalogImportError) as exc:
        services.catalog_import(broken)
    problems = {(p.item, p.path) for p in exc.value.report.problems}
    assert ("business_license", "promised_limit_days") in problems
    assert ("resident_medical_insurance", "department") in problems
    assert ("resident_medical_insurance", "form.fields[0:name].type") in problems
    assert ("social_security_card", "materials[0:x].required_if") in problems
    reasons = " ".join(p.reason for p in exc.value.report.problems)
    assert "missing_field" in reasons
    # Nothing changed, not even the valid parts of the file.
    assert services.catalog_export_yaml() == before
    assert ServiceVersion.objects.count() == versions


def test_promised_longer_than_legal_is_refused_everywhere(sample_catalog):
    from django.core.exceptions import ValidationError
    from django.db import IntegrityError, transaction

    data = yaml.safe_load(services.catalog_export_yaml())
    data["items"][0]["promised_limit_days"] = 16
    report = services.catalog_validate(data)
    assert [str(p) for p in report.problems] == [
        "business_license: promised_limit_days: 承诺办结时限（16）不能超过法定办结时限（15）。"
    ]
    version = ServiceVersion.objects.filter(item__key="business_license").first()
    version.promised_limit_days = 16
    with pytest.raises(ValidationError):
        version.clean()
    with pytest.raises(IntegrityError), transaction.atomic():  # the database refuses it too
        ServiceVersion.objects.filter(pk=version.pk).update(promised_limit_days=16)


def test_changed_content_makes_a_new_published_version_and_retires_the_old(sample_catalog):
    data = yaml.safe_load(services.catalog_export_yaml())
    data["items"][0]["promised_limit_days"] = 2
    report = services.catalog_import(data)
    assert (report.updated, report.unchanged) == (1, 2)
    versions = ServiceVersion.objects.filter(item__key="business_license").order_by("number")
    assert [(v.number, v.status) for v in versions] == [
        (1, VersionStatus.RETIRED),
        (2, VersionStatus.PUBLISHED),
    ]
    assert versions[0].promised_limit_days == 1  # what v1 applicants started with, kept


def test_syntax_errors_and_wrong_files_are_reported(org):
    with pytest.raises(services.CatalogImportError) as exc:
        services.catalog_load_yaml("items: [unclosed")
    assert "line" in exc.value.report.problems[0].path
    report = services.catalog_validate({"items": []})
    assert report.problems[0].path == "format"


def test_duplicate_keys_and_unknown_attributes(sample_catalog):
    data = yaml.safe_load(services.catalog_export_yaml())
    data["items"][1]["key"] = data["items"][0]["key"]
    data["items"][2]["colour"] = "red"
    problems = {(p.item, p.path) for p in services.catalog_validate(data).problems}
    assert ("business_license", "key") in problems
    assert ("social_security_card", "colour") in problems


def test_cli_import_and_export(org, sample_text, tmp_path, capsys):
    source = tmp_path / "catalog.yaml"
    source.write_text(sample_text, encoding="utf-8")
    assert cli.main(["catalog", "import", str(source), "--dry-run"]) == 0
    assert ServiceItem.objects.count() == 0  # a dry run imports nothing
    assert cli.main(["catalog", "import", str(source)]) == 0
    assert "3 created" in capsys.readouterr().out
    exported = tmp_path / "out.yaml"
    assert cli.main(["catalog", "export", str(exported)]) == 0
    assert cli.main(["catalog", "import", str(exported)]) == 0
    assert "3 unchanged" in capsys.readouterr().out

    bad = yaml.safe_load(sample_text)
    bad["items"][0]["legal_limit_days"] = -1
    source.write_text(yaml.safe_dump(bad, allow_unicode=True), encoding="utf-8")
    assert cli.main(["catalog", "import", str(source)]) == 1
    err = capsys.readouterr().err
    assert "business_license: legal_limit_days:" in err
    assert "NOT changed" in err


def _broken(sample_catalog, mutate):
    data = yaml.safe_load(services.catalog_export_yaml())
    mutate(data)
    return {(p.item, p.path) for p in services.catalog_validate(data).problems}


def test_values_the_tables_cannot_hold_are_reported_not_crashed_on(sample_catalog):
    def mutate(data):
        first, second, third = data["items"]
        first["hours"] = "全天" * 150  # over 200 characters
        first["materials"][0]["acceptance_standard"] = None  # null optional text: fine
        first["materials"][1]["name"] = 42
        first["keywords"] = ["注册", 3]
        first["high_frequency"] = "false"
        second["form"]["fields"][0]["help"] = __import__("datetime").date(2026, 1, 1)
        second["fees"] = [{"name": "工本费", "amount": "abc"}]
        third["basic_code"] = second["basic_code"]  # same department? no: distinct codes
        data["extra"] = 1

    problems = _broken(sample_catalog, mutate)
    assert ("business_license", "hours") in problems
    assert ("business_license", "materials[1:lease].name") in problems
    assert ("business_license", "keywords") in problems
    assert ("business_license", "high_frequency") in problems
    assert ("resident_medical_insurance", "form") in problems
    assert ("resident_medical_insurance", "fees[0]") in problems
    assert ("-", "extra") in problems
    assert not any(path.endswith("acceptance_standard") for _, path in problems)


def test_generated_implementation_codes_cannot_collide(sample_catalog):
    def mutate(data):
        twin = copy.deepcopy(data["items"][0])
        twin["key"] = "business_license_twin"
        twin.pop("implementation_code")
        data["items"].append(twin)  # same department + basic code => same generated code

    assert ("business_license_twin", "implementation_code") in _broken(sample_catalog, mutate)


def test_yaml_aliases_are_refused(org):
    bomb = "a: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n"
    with pytest.raises(services.CatalogImportError) as exc:
        services.catalog_load_yaml(bomb)
    assert "aliases" in exc.value.report.problems[0].reason
