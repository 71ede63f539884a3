"""The demo catalog: complete enough to use, and searched the way people search."""

from __future__ import annotations

from onewindow.catalog import services
from onewindow.catalog.models import ServiceItem, VersionStatus
from onewindow.catalog.selectors import service_search
from onewindow.org.models import Department

BUNDLED = [  # the items the national 一件事 lists bundle
    "birth_medical_certificate",
    "vaccination_certificate",
    "newborn_household_registration",
    "social_security_card",
    "resident_medical_insurance",
    "business_license",
    "company_seal",
    "tax_registration_invoice",
    "social_insurance_account",
    "medical_insurance_employer",
    "death_certificate",
    "household_cancellation",
    "pension_suspension",
    "funeral_subsidy",
    "housing_fund_withdrawal",
    "enterprise_deregistration",
    "tax_deregistration",
    "food_business_license",
]


def first(q: str) -> ServiceItem:
    return service_search(q=q).items[0]


def test_at_least_40_items_across_every_department(demo_catalog):
    items = ServiceItem.objects.filter(versions__status=VersionStatus.PUBLISHED)
    assert items.count() >= 40
    assert set(items.values_list("department__code", flat=True)) == set(
        Department.objects.values_list("code", flat=True)
    )
    assert set(BUNDLED) <= set(items.values_list("key", flat=True))


def test_every_item_has_a_real_form_and_materials(demo_catalog):
    for item in ServiceItem.objects.all():
        version = item.published_version()
        assert len(version.form_schema["fields"]) >= 3, item.key
        assert version.legal_limit_days >= version.promised_limit_days
    with_materials = [
        i for i in ServiceItem.objects.all() if i.published_version().materials.exists()
    ]
    assert len(with_materials) >= 40


def test_people_find_the_right_service_first(demo_catalog):
    assert first("开公司").key == "business_license"
    assert first("营业执照").key == "business_license"
    social = first("社保")
    assert social.department.code == "hrss"
    assert "社" in social.name
    medical = first("医保")
    assert medical.department.code == "medical_insurance"
    assert first("公积金提取").key == "housing_fund_withdrawal"
    assert first("结婚").key == "marriage_registration"


def test_the_demo_catalog_round_trips(demo_catalog):
    exported = services.catalog_export_yaml()
    report = services.catalog_import(services.catalog_load_yaml(exported))
    assert report.created == report.updated == 0
    assert services.catalog_export_yaml() == exported
