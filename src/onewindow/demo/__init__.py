"""The demo city (示范市): a fictional city seeded by ``onewindow demo``.

示范省 / 示范市 use area codes 99xxxx, a range GB/T 2260 does not assign, so no demo code can be
mistaken for a real place. Department USCCs are built the GB 32100 way (authority 1 = 机构编制,
type 1 = 机关 or 2 = 事业单位, the 示范市 area code, a GB 11714 organisation code, check char) but
belong to nobody. Seeding is idempotent: running it again updates rows in place.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from onewindow.audit.services import SYSTEM_ACTOR, audit_record
from onewindow.identity import services as identity_services
from onewindow.kit.validators import uscc_check_char
from onewindow.org import services as org_services
from onewindow.org.models import Department, Region, WindowKind

PROVINCE = ("990000", "示范省")
CITY = ("990100", "示范市")
DISTRICTS = [("990102", "中心区"), ("990103", "滨江区"), ("990104", "高新区")]

# code, name, short name, org type (1 机关, 2 事业单位), phone
DEPARTMENTS = [
    ("gov_services", "示范市政务服务管理办公室", "政务办", "1", "0999-12345"),
    ("market", "示范市市场监督管理局", "市场监管", "1", "0999-12315"),
    ("tax", "国家税务总局示范市税务局", "税务", "1", "0999-12366"),
    ("hrss", "示范市人力资源和社会保障局", "人社", "1", "0999-12333"),
    ("medical_insurance", "示范市医疗保障局", "医保", "1", "0999-12393"),
    ("public_security", "示范市公安局", "公安", "1", "0999-110"),
    ("civil_affairs", "示范市民政局", "民政", "1", "0999-12349"),
    ("health", "示范市卫生健康委员会", "卫健", "1", "0999-12320"),
    ("housing", "示范市住房和城乡建设局", "住建", "1", "0999-12319"),
    ("natural_resources", "示范市自然资源和规划局", "自然资源", "1", "0999-12336"),
    ("transport", "示范市交通运输局", "交通", "1", "0999-12328"),
    ("education", "示范市教育局", "教育", "1", "0999-12391"),
    ("housing_fund", "示范市住房公积金管理中心", "公积金", "2", "0999-12329"),
]

HALL = {
    "name": "示范市政务服务中心",
    "address": "示范市中心区市民大道1号",
    "opening_hours": "周一至周五 9:00-12:00，13:30-17:30（法定节假日除外）",
    "phone": "0999-12345",
}

# number, name, kind, department codes (empty: every department)
WINDOWS = [
    ("A01", "综合受理窗口", WindowKind.COMPREHENSIVE, []),
    ("A02", "综合受理窗口", WindowKind.COMPREHENSIVE, []),
    ("A03", "综合受理窗口", WindowKind.COMPREHENSIVE, []),
    ("B01", "企业开办专窗", WindowKind.DEPARTMENT, ["market", "tax", "hrss", "medical_insurance"]),
    ("B02", "户籍业务专窗", WindowKind.DEPARTMENT, ["public_security"]),
    ("B03", "不动产登记专窗", WindowKind.DEPARTMENT, ["natural_resources", "housing", "tax"]),
    ("C01", "帮办代办窗口", WindowKind.ASSISTED, []),
    ("D01", "统一出件窗口", WindowKind.PICKUP, []),
]


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    display_name: str
    role: str
    department: str | None
    totp_secret: str | None = None
    id_number: str | None = None
    phone: str | None = None


# Demo passwords and TOTP secrets are public by design: they only exist in a demo database.
STAFF_PASSWORD = "Demo-Staff-2026"  # noqa: S105
CITIZEN_PASSWORD = "Demo-Citizen-2026"  # noqa: S105
ADMINS = [
    DemoAccount(
        "sysadmin",
        "Demo-Sysadmin-2026",
        "系统管理员（演示）",
        "system_admin",
        "gov_services",
        totp_secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",  # noqa: S106
    ),
    DemoAccount(
        "secadmin",
        "Demo-Secadmin-2026",
        "安全管理员（演示）",
        "security_admin",
        "gov_services",
        totp_secret="KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU",  # noqa: S106
    ),
    DemoAccount(
        "auditor",
        "Demo-Auditor-2026",
        "审计管理员（演示）",
        "auditor",
        "gov_services",
        totp_secret="MFRGGZDFMZTWQ2LKMFRGGZDFMZTWQ2LK",  # noqa: S106
    ),
]
STAFF = [
    DemoAccount("clerk", STAFF_PASSWORD, "窗口人员 陈静", "window_clerk", "gov_services"),
    DemoAccount("steward", STAFF_PASSWORD, "数据管理员 周敏", "data_steward", "gov_services"),
    DemoAccount("market_reviewer", STAFF_PASSWORD, "市场监管 审查员 吴磊", "reviewer", "market"),
    DemoAccount("market_approver", STAFF_PASSWORD, "市场监管 审批员 郑洁", "approver", "market"),
    DemoAccount("market_head", STAFF_PASSWORD, "市场监管 负责人 冯刚", "department_head", "market"),
    DemoAccount("health_reviewer", STAFF_PASSWORD, "卫健 审查员 何芳", "reviewer", "health"),
    DemoAccount(
        "police_reviewer", STAFF_PASSWORD, "公安 审查员 韩冰", "reviewer", "public_security"
    ),
    DemoAccount("hrss_reviewer", STAFF_PASSWORD, "人社 审查员 曹宇", "reviewer", "hrss"),
    DemoAccount(
        "medins_reviewer", STAFF_PASSWORD, "医保 审查员 许晴", "reviewer", "medical_insurance"
    ),
    DemoAccount(
        "market_catalog",
        STAFF_PASSWORD,
        "市场监管 事项管理员 罗琳",
        "catalog_editor",
        "market",
        totp_secret="NBSWY3DPO5XXE3DENBSWY3DPO5XXE3DE",  # noqa: S106 - demo only
    ),
]


def _demo_id(first17: str) -> str:
    from onewindow.kit.validators import id_number_check_char

    return first17 + id_number_check_char(first17)


CITIZENS = [
    DemoAccount(
        "zhangsan",
        CITIZEN_PASSWORD,
        "张三",
        "citizen",
        None,
        id_number=_demo_id("99010219900307101"),
        phone="13800000001",
    ),
    DemoAccount(
        "lisi",
        CITIZEN_PASSWORD,
        "李四",
        "citizen",
        None,
        id_number=_demo_id("99010319850612202"),
        phone="13800000002",
    ),
    DemoAccount(
        "wangwu",
        CITIZEN_PASSWORD,
        "王五",
        "citizen",
        None,
        id_number=_demo_id("99010419920921303"),
        phone="13800000003",
    ),
]

# Every department gets a reviewer, an approver and a head (审查员、审批员、负责人) so every demo
# service can be worked end to end; the named ones above keep their names.
_ROLE_TITLES = {"reviewer": "审查员", "approver": "审批员", "department_head": "负责人"}
STAFF.append(DemoAccount("clerk2", STAFF_PASSWORD, "窗口人员 林悦", "window_clerk", "gov_services"))
for _code, _name, _short, *_rest in DEPARTMENTS:
    for _role, _title in _ROLE_TITLES.items():
        if not any(a.department == _code and a.role == _role for a in STAFF):
            STAFF.append(
                DemoAccount(
                    f"{_code}_{_role.split('_')[-1]}",
                    STAFF_PASSWORD,
                    f"{_short} {_title}（演示）",
                    _role,
                    _code,
                )
            )
ACCOUNTS = [*ADMINS, *STAFF, *CITIZENS]
PROCESS_DIR = Path(__file__).resolve().parent / "processes"

ENTERPRISE_NAME = "示范市示范科技有限公司"
ENTERPRISE_REPRESENTATIVE = "lisi"
# The agent 王五 may handle these services for the enterprise (not, say, its deregistration).
AGENT_USERNAME = "wangwu"
AGENT_SERVICES = ["enterprise_change", "tax_registration_invoice"]

_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def organisation_code(body8: str) -> str:
    """A GB 11714 organisation code: 8 digits plus its check character."""
    remainder = 11 - sum(int(c) * w for c, w in zip(body8, _ORG_CODE_WEIGHTS, strict=True)) % 11
    check = {10: "X", 11: "0"}.get(remainder, str(remainder))
    return body8 + check


def demo_uscc(index: int, org_type: str, authority: str = "1") -> str:
    first17 = authority + org_type + CITY[0] + organisation_code(f"9901{index:04d}")
    return first17 + uscc_check_char(first17)


ENTERPRISE_USCC = demo_uscc(1, "1", authority="9")  # 9 工商, 1 企业


@transaction.atomic
def seed() -> dict[str, int]:
    """Create or update the demo city. Safe to run any number of times."""
    org_services.region_upsert(code=PROVINCE[0], name=PROVINCE[1], is_fictional=True)
    city = org_services.region_upsert(code=CITY[0], name=CITY[1], is_fictional=True)
    for code, name in DISTRICTS:
        org_services.region_upsert(code=code, name=name, is_fictional=True)

    departments: dict[str, Department] = {}
    for index, (code, name, short, org_type, phone) in enumerate(DEPARTMENTS, start=1):
        departments[code] = org_services.department_upsert(
            code=code,
            name=name,
            short_name=short,
            uscc=demo_uscc(index, org_type),
            region=city,
            phone=phone,
            address=f"示范市中心区市民大道{index}号",
        )

    hall = org_services.hall_upsert(region=city, managed_by=departments["gov_services"], **HALL)
    for number, name, kind, codes in WINDOWS:
        org_services.window_upsert(
            hall=hall,
            number=number,
            name=name,
            kind=kind,
            departments=[departments[c] for c in codes],
        )

    _seed_people(departments, city)
    services_count = _seed_catalog()
    processes_count = _seed_processes()
    license_types = _seed_licenses()
    persons_count, entities_count = _seed_datahub()

    counts = {
        "regions": Region.objects.filter(is_fictional=True).count(),
        "departments": len(departments),
        "halls": 1,
        "windows": len(WINDOWS),
        "accounts": len(ACCOUNTS),
        "enterprises": 2,
        "services": services_count,
        "processes": processes_count,
        "license types": license_types,
        "registry persons": persons_count,
        "registry legal entities": entities_count,
    }
    audit_record(
        actor=SYSTEM_ACTOR,
        action="demo.seed",
        object_type="demo",
        object_repr=CITY[1],
        detail=counts,
    )
    return counts


CATALOG_FILE = Path(__file__).resolve().parents[1] / "catalog" / "demo_catalog.yaml"


def _seed_catalog() -> int:
    """Import the demo catalog (unchanged items keep their version: idempotent)."""
    from onewindow.catalog import services as catalog_services

    data = catalog_services.catalog_load_yaml(CATALOG_FILE.read_text(encoding="utf-8"))
    catalog_services.catalog_import(data)
    return len(data["items"])


def _seed_processes() -> int:
    """Load the demo city's process definitions (unchanged versions are left as they are)."""
    from onewindow.workflow import services as workflow_services

    files = sorted(PROCESS_DIR.glob("*.yaml"))
    for path in files:
        workflow_services.definition_save(source=path.read_text(encoding="utf-8"))
    return len(files)


def _seed_licenses() -> int:
    """The e-license types (证照目录) and the issuing departments' signing keys."""
    from onewindow.license import demo as license_demo

    return license_demo.seed(enterprise_uscc=ENTERPRISE_USCC)


def _seed_datahub() -> tuple[int, int]:
    """The data hub's registries and catalog: 10,000 residents and 1,000 enterprises generated
    consistently (valid check digits, demo area codes), the sharing catalog, and a few
    documented defects for the quality report (``datahub.demo.DEMO_DEFECTS``)."""
    from onewindow.datahub import demo as hub_demo
    from onewindow.datahub.models import LegalEntity, Person

    hub_demo.seed()
    return Person.objects.count(), LegalEntity.objects.count()


def _seed_people(departments: dict[str, Department], city: Region) -> None:
    for account in [*ADMINS, *STAFF]:
        user = identity_services.staff_upsert(
            username=account.username,
            display_name=account.display_name,
            department=departments[account.department or "gov_services"],
            region=city,
            roles=[account.role],
            password=account.password,
        )
        if account.totp_secret:
            identity_services.mfa_totp_set(user=user, secret=account.totp_secret)
    people = {}
    for account in CITIZENS:
        people[account.username] = identity_services.citizen_upsert(
            username=account.username,
            password=account.password,
            real_name=account.display_name,
            id_number=account.id_number or "",
            phone=account.phone or "",
        )
    enterprise = identity_services.enterprise_register(
        uscc=ENTERPRISE_USCC,
        name=ENTERPRISE_NAME,
        legal_representative=people[ENTERPRISE_REPRESENTATIVE],
    )
    # 王五 represents the data hub's problem enterprise (tax arrears, unpaid social insurance,
    # an open customs procedure): what 企业注销一件事's pre-check must list at once.
    from onewindow.datahub import demo as hub_demo

    identity_services.enterprise_register(
        uscc=hub_demo.problem_enterprise_uscc(),
        name=hub_demo.PROBLEM_ENTERPRISE_NAME,
        legal_representative=people[AGENT_USERNAME],
    )
    agent = people[AGENT_USERNAME]
    if not enterprise.grants.filter(agent=agent, revoked_at__isnull=True).exists():
        identity_services.agent_grant(
            actor=people[ENTERPRISE_REPRESENTATIVE],
            enterprise=enterprise,
            agent=agent,
            services=AGENT_SERVICES,
            expires_at=timezone.now() + dt.timedelta(days=365),
        )
    identity_services.first_party_application()


@transaction.atomic
def reset() -> dict[str, int]:
    """Remove the demo city's rows (the audit trail stays: it is append-only) and seed again."""
    from onewindow.catalog import services as catalog_services
    from onewindow.datahub import demo as hub_demo
    from onewindow.license import demo as license_demo

    hub_demo.reset()  # the hub's rows refer to departments and regions
    license_demo.reset()  # licenses refer to people, enterprises and departments
    for account in ACCOUNTS:  # people first: staff profiles refer to departments
        identity_services.user_delete(username=account.username)
    catalog_services.items_delete(department_codes=[d[0] for d in DEPARTMENTS])
    org_services.hall_delete(name=HALL["name"])
    for code, *_ in DEPARTMENTS:
        org_services.department_delete(code=code)
    for code, _ in [*DISTRICTS, CITY, PROVINCE]:  # children before parents
        org_services.region_delete(code=code)
    audit_record(actor=SYSTEM_ACTOR, action="demo.reset", object_type="demo", object_repr=CITY[1])
    return seed()


def accounts() -> list[dict[str, object]]:
    """The demo logins, for scripts and tests (``onewindow demo accounts --json``)."""
    rows: list[dict[str, object]] = []
    for a in ACCOUNTS:
        row: dict[str, object] = {
            "username": a.username,
            "password": a.password,
            "display_name": a.display_name,
            "role": a.role,
            "department": a.department,
            "totp_secret": a.totp_secret,
        }
        if a.id_number:
            row["id_number"] = a.id_number
            row["phone"] = a.phone
        if a.username == ENTERPRISE_REPRESENTATIVE:
            row["enterprise"] = {
                "uscc": ENTERPRISE_USCC,
                "name": ENTERPRISE_NAME,
                "relation": "legal_representative",
            }
        if a.username == AGENT_USERNAME:
            row["enterprise"] = {
                "uscc": ENTERPRISE_USCC,
                "name": ENTERPRISE_NAME,
                "relation": "agent",
                "services": AGENT_SERVICES,
            }
        rows.append(row)
    return rows
