"""The demo city's e-license types (证照目录) and the issuing departments' signing keys.

居民身份证, 户口簿 and the other national documents that catalog materials name are not issued
here: departments fetch them from the national e-license library, so those materials stay
exempt (免提交) without a check on this platform.

Type codes follow GB/T 36904: the defining department's USCC + a 3-digit sequence. In the demo
the city departments define them (nationally, 营业执照 is defined by SAMR and so on).
"""

from __future__ import annotations

from typing import Any

from onewindow.license import keys
from onewindow.license.models import HolderKind, LicenseType
from onewindow.org.models import Department

TYPES: list[dict[str, Any]] = [
    {
        "key": "business_license",
        # 企业设立登记 (business_license) is filed by a person for a company not yet
        # registered on the platform, so only the change of registration issues one here.
        "name": "营业执照",
        "department": "market",
        "sequence": "001",
        "holder_kind": HolderKind.ORGANISATION,
        "validity_years": None,
        "replaces_previous": True,  # one 营业执照 per enterprise: a change re-issues it
        "service_keys": ["enterprise_change"],
        "template": [
            # First answered field wins; unanswered rows keep the previous license's value.
            {"label": "名称", "answer": ["new_name", "enterprise_name", "company_name"]},
            {"label": "住所", "answer": ["new_address", "registered_address"]},
            {
                "label": "法定代表人",
                "answer": ["new_legal_representative", "legal_representative"],
            },
            {
                "label": "注册资本（万元）",
                "answer": ["new_registered_capital", "registered_capital"],
            },
            {"label": "经营范围", "answer": ["new_business_scope", "business_scope"]},
        ],
    },
    {
        "key": "food_business_license",
        "name": "食品经营许可证",
        "department": "market",
        "sequence": "002",
        "holder_kind": HolderKind.ORGANISATION,
        "validity_years": 5,
        "service_keys": ["food_business_license"],
        "template": [
            {"label": "经营者名称", "answer": "operator_name"},
            {"label": "法定代表人（负责人）", "answer": "legal_representative"},
            {"label": "经营场所", "answer": "business_premises"},
            {"label": "食品安全管理人员", "answer": "food_safety_manager"},
        ],
    },
    {
        "key": "special_equipment_registration",
        "name": "特种设备使用登记证",
        "department": "market",
        "sequence": "003",
        "holder_kind": HolderKind.ORGANISATION,
        "validity_years": None,
        "service_keys": ["special_equipment_registration"],
        "template": [
            {"label": "使用单位", "answer": "user_name"},
            {"label": "设备代码", "answer": "equipment_code"},
            {"label": "设备使用地点", "answer": "installation_address"},
            {"label": "安全管理员", "answer": "safety_manager"},
        ],
    },
    {
        "key": "social_security_card",
        "name": "社会保障卡",
        "department": "hrss",
        "sequence": "001",
        "holder_kind": HolderKind.PERSON,
        "validity_years": 10,
        "replaces_previous": True,  # one card per person: a replacement cancels the old one
        "service_keys": ["social_security_card"],
        "template": [{"label": "姓名", "answer": "applicant_name"}],
        # A newborn's card is the child's: the applicant is the guardian, whose own card must
        # not be replaced; the child's card is posted and activated later.
        "issue_if": "application_type != 'newborn'",
    },
]


def seed(*, enterprise_uscc: str = "") -> int:
    """Upsert the license types, give each issuing department a signing key, and issue the
    demo enterprise its 营业执照 (it was registered before the platform went live), so its
    later applications show reuse (免提交)."""
    codes = [t["department"] for t in TYPES]
    departments = {d.code: d for d in Department.objects.filter(code__in=codes)}
    for spec in TYPES:
        department = departments[spec["department"]]
        LicenseType.objects.update_or_create(
            key=spec["key"],
            defaults={
                "code": department.uscc + spec["sequence"],
                "name": spec["name"],
                "department": department,
                "holder_kind": spec["holder_kind"],
                "validity_years": spec["validity_years"],
                "template": spec["template"],
                "service_keys": spec["service_keys"],
                "replaces_previous": spec.get("replaces_previous", False),
                "issue_if": spec.get("issue_if", ""),
                "is_active": True,
            },
        )
    keys.ensure_keys(list(departments.values()), actor="demo")
    keys.platform_key()  # seals submissions
    if enterprise_uscc:
        _business_license(enterprise_uscc)
    return len(TYPES)


def _business_license(uscc: str) -> None:
    from onewindow.identity.models import Enterprise
    from onewindow.license.models import License
    from onewindow.license.services import license_issue

    enterprise = Enterprise.objects.filter(uscc=uscc).first()
    license_type = LicenseType.objects.get(key="business_license")
    if (
        enterprise is None
        or License.objects.filter(holder_enterprise=enterprise, license_type=license_type).exists()
    ):
        return
    representative = enterprise.legal_representative
    license_issue(
        license_type=license_type,
        holder_name=enterprise.name,
        holder_code=enterprise.uscc,
        holder_enterprise=enterprise,
        data=[
            ("名称", enterprise.name),
            ("住所", "示范省示范市中心区市民大道88号"),
            ("法定代表人", representative.display_name or representative.username),
            ("注册资本（万元）", "500"),
            ("经营范围", "软件开发；信息技术咨询服务；数据处理服务"),
        ],
        actor="demo",
        notify=False,  # issued before the platform went live: nothing to tell
    )


def reset() -> None:
    """Remove the demo's licenses, their verifications and status history, the license types
    and the departments' keys (a demo reset only; in service these rows are never deleted)."""
    from onewindow.license.models import License, SigningKey, StatusChange, Verification

    codes = sorted({t["department"] for t in TYPES})
    licenses = License.objects.filter(issuer__code__in=codes)
    Verification.objects.filter(license__in=licenses).delete()
    Verification.objects.filter(license__isnull=True).delete()
    StatusChange.objects.filter(license__in=licenses).delete()
    licenses.delete()
    LicenseType.objects.filter(department__code__in=codes).delete()
    SigningKey.objects.filter(department__code__in=codes).delete()
