"""The demo city's data hub: a standard catalog and a fictional population, generated.

``seed(persons=10_000, enterprises=1_000)`` fills the data dictionary, the sharing catalog,
the population and legal entity registries and three department-provided datasets (tax
arrears, social-insurance contributions, open customs procedures). Everything is fictional and
deterministic: the same ``random_seed`` gives the same people and enterprises (ID numbers and
USCCs with valid check characters, in the demo's 99xxxx districts). The demo citizens 张三,
李四 and 王五 are in the registry with their account's ID numbers; 李四 represents the demo
enterprise (示范市示范科技有限公司, clean records); 王五 represents ``PROBLEM_ENTERPRISE`` which
owes tax, is behind with social insurance and has an open customs procedure — what the
bundles' pre-checks must catch. A fourth dataset, ``pension_benefits`` (养老保险待遇发放), pays
every resident of 60 or more a pension (stopped at death).

The demo also seeds a small, documented number of data-quality defects (``DEMO_DEFECTS``) so
the quality report (``onewindow manage datahub_quality``) shows something real: two persons
with a wrong ID check digit, two persons registered twice, one USCC with a wrong check
character, one enterprise name under two USCCs, one tax record keyed with a stray space, three
social-insurance records three months old, three deceased persons still receiving a pension.
They need at least 5 persons and 6 enterprises (``defects=False`` leaves them out). Every run
writes one ``ImportBatch`` per dataset (origin ``generator``): the demo rows have lineage too.
Seeding again adds nothing new and refreshes the records.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from onewindow.datahub import services
from onewindow.datahub.models import (
    Classification,
    DataType,
    EntityType,
    ImportOrigin,
    LifeStatus,
    Masking,
    Sex,
    Sharing,
    Source,
    SubjectType,
    UpdateFrequency,
)
from onewindow.datahub.services import LegalEntityRow, PersonRow
from onewindow.kit.validators import id_number_check_char, uscc_check_char
from onewindow.org import services as org_services
from onewindow.org.models import Department

RANDOM_SEED = 20261121
GENERATOR_ACTOR = "generator:datahub.demo"
PENSION_AGE = 60
STALE_DAYS = 100  # the stale social-insurance records: 100 days old, monthly promised

# The defects the demo seeds on purpose, per dataset and check (docs/datahub.md#data-quality).
DEMO_DEFECTS: dict[str, dict[str, int]] = {
    "population": {"check_digits": 2, "duplicates": 2},
    "legal_entity": {"check_digits": 1, "duplicates": 1},
    "tax_arrears": {"duplicates": 1},
    "social_insurance": {"stale": 3},
    "pension_benefits": {"deceased_with_benefits": 3},
}
BIRTH_FIRST = dt.date(1936, 1, 1)
BIRTH_LAST = dt.date(2025, 12, 31)

# Customs (海关) is not among the demo city's departments; the hub's demo adds it.
CUSTOMS = ("customs", "示范海关", "海关", "0999-12360")

# key, name, type, classification, masking, owner department
ELEMENTS = [
    (
        "person.id_number",
        "公民身份号码",
        DataType.CODE,
        Classification.SENSITIVE,
        Masking.ID_NUMBER,
        "public_security",
    ),
    (
        "person.name",
        "姓名",
        DataType.STRING,
        Classification.SENSITIVE,
        Masking.NAME,
        "public_security",
    ),
    (
        "person.sex",
        "性别",
        DataType.CODE,
        Classification.INTERNAL,
        Masking.WITHHOLD,
        "public_security",
    ),
    (
        "person.birth_date",
        "出生日期",
        DataType.DATE,
        Classification.SENSITIVE,
        Masking.DATE,
        "public_security",
    ),
    (
        "person.household_region",
        "户籍地行政区划",
        DataType.CODE,
        Classification.INTERNAL,
        Masking.WITHHOLD,
        "public_security",
    ),
    (
        "person.household_address",
        "户籍地址",
        DataType.STRING,
        Classification.SENSITIVE,
        Masking.ADDRESS,
        "public_security",
    ),
    (
        "person.life_status",
        "生存状态",
        DataType.CODE,
        Classification.INTERNAL,
        Masking.WITHHOLD,
        "public_security",
    ),
    (
        "person.death_date",
        "死亡日期",
        DataType.DATE,
        Classification.INTERNAL,
        Masking.WITHHOLD,
        "public_security",
    ),
    (
        "enterprise.uscc",
        "统一社会信用代码",
        DataType.CODE,
        Classification.PUBLIC,
        Masking.WITHHOLD,
        "market",
    ),
    (
        "enterprise.name",
        "市场主体名称",
        DataType.STRING,
        Classification.PUBLIC,
        Masking.WITHHOLD,
        "market",
    ),
    (
        "enterprise.type",
        "市场主体类型",
        DataType.CODE,
        Classification.PUBLIC,
        Masking.WITHHOLD,
        "market",
    ),
    (
        "enterprise.legal_representative",
        "法定代表人",
        DataType.STRING,
        Classification.PUBLIC,
        Masking.WITHHOLD,
        "market",
    ),
    (
        "enterprise.legal_representative_id_number",
        "法定代表人身份证号码",
        DataType.CODE,
        Classification.SENSITIVE,
        Masking.ID_NUMBER,
        "market",
    ),
    (
        "enterprise.registered_region",
        "住所行政区划",
        DataType.CODE,
        Classification.PUBLIC,
        Masking.WITHHOLD,
        "market",
    ),
    (
        "enterprise.registered_address",
        "住所",
        DataType.STRING,
        Classification.PUBLIC,
        Masking.WITHHOLD,
        "market",
    ),
    (
        "enterprise.status",
        "登记状态",
        DataType.CODE,
        Classification.PUBLIC,
        Masking.WITHHOLD,
        "market",
    ),
    (
        "enterprise.established_on",
        "成立日期",
        DataType.DATE,
        Classification.PUBLIC,
        Masking.WITHHOLD,
        "market",
    ),
    (
        "tax.in_arrears",
        "是否欠税",
        DataType.BOOLEAN,
        Classification.INTERNAL,
        Masking.WITHHOLD,
        "tax",
    ),
    (
        "tax.arrears_amount",
        "欠税金额（元）",
        DataType.DECIMAL,
        Classification.SENSITIVE,
        Masking.WITHHOLD,
        "tax",
    ),
    (
        "tax.overdue_since",
        "欠税起始日期",
        DataType.DATE,
        Classification.INTERNAL,
        Masking.WITHHOLD,
        "tax",
    ),
    (
        "social_insurance.insured_employees",
        "参保职工人数",
        DataType.INTEGER,
        Classification.INTERNAL,
        Masking.WITHHOLD,
        "hrss",
    ),
    (
        "social_insurance.paid_through",
        "已缴费至（年月）",
        DataType.CODE,
        Classification.INTERNAL,
        Masking.WITHHOLD,
        "hrss",
    ),
    (
        "social_insurance.unpaid_months",
        "欠缴月数",
        DataType.INTEGER,
        Classification.INTERNAL,
        Masking.WITHHOLD,
        "hrss",
    ),
    (
        "social_insurance.unpaid_amount",
        "欠缴金额（元）",
        DataType.DECIMAL,
        Classification.SENSITIVE,
        Masking.WITHHOLD,
        "hrss",
    ),
    (
        "benefit.status",
        "待遇发放状态",
        DataType.CODE,
        Classification.INTERNAL,
        Masking.WITHHOLD,
        "hrss",
    ),
    (
        "benefit.monthly_amount",
        "月发放金额（元）",
        DataType.DECIMAL,
        Classification.SENSITIVE,
        Masking.WITHHOLD,
        "hrss",
    ),
    (
        "benefit.paid_through",
        "已发放至（年月）",
        DataType.CODE,
        Classification.INTERNAL,
        Masking.WITHHOLD,
        "hrss",
    ),
    (
        "customs.open_procedures",
        "未办结海关手续数",
        DataType.INTEGER,
        Classification.INTERNAL,
        Masking.WITHHOLD,
        "customs",
    ),
    (
        "customs.oldest_open_since",
        "最早未办结手续日期",
        DataType.DATE,
        Classification.INTERNAL,
        Masking.WITHHOLD,
        "customs",
    ),
]


@dataclass(frozen=True)
class DatasetSpec:
    key: str
    name: str
    source: str
    subject_type: str
    owner: str
    sharing: str
    frequency: str
    fields: list[tuple[str, str]]
    consent_required: bool = False
    description: str = ""


DATASETS = [
    DatasetSpec(
        "population",
        "人口基础信息",
        Source.POPULATION,
        SubjectType.PERSON,
        "public_security",
        Sharing.CONDITIONAL,
        UpdateFrequency.REALTIME,
        [
            ("id_number", "person.id_number"),
            ("name", "person.name"),
            ("sex", "person.sex"),
            ("birth_date", "person.birth_date"),
            ("household_region", "person.household_region"),
            ("household_address", "person.household_address"),
            ("status", "person.life_status"),
            ("death_date", "person.death_date"),
        ],
        description="人口库：户籍人口的身份、户籍地址与生存状态。",
    ),
    DatasetSpec(
        "legal_entity",
        "法人基础信息",
        Source.LEGAL_ENTITY,
        SubjectType.ENTERPRISE,
        "market",
        Sharing.UNCONDITIONAL,
        UpdateFrequency.DAILY,
        [
            ("uscc", "enterprise.uscc"),
            ("name", "enterprise.name"),
            ("entity_type", "enterprise.type"),
            ("legal_representative", "enterprise.legal_representative"),
            ("legal_representative_id_number", "enterprise.legal_representative_id_number"),
            ("registered_region", "enterprise.registered_region"),
            ("registered_address", "enterprise.registered_address"),
            ("status", "enterprise.status"),
            ("established_on", "enterprise.established_on"),
        ],
        description="法人库：市场主体登记信息（公示信息无条件共享，法定代表人身份证号码脱敏）。",
    ),
    DatasetSpec(
        "tax_arrears",
        "欠税信息",
        Source.RECORDS,
        SubjectType.ENTERPRISE,
        "tax",
        Sharing.CONDITIONAL,
        UpdateFrequency.DAILY,
        [
            ("in_arrears", "tax.in_arrears"),
            ("arrears_amount", "tax.arrears_amount"),
            ("overdue_since", "tax.overdue_since"),
        ],
        consent_required=True,
        description="税务部门提供：纳税人欠缴税款情况。",
    ),
    DatasetSpec(
        "social_insurance",
        "社会保险缴费信息",
        Source.RECORDS,
        SubjectType.ENTERPRISE,
        "hrss",
        Sharing.CONDITIONAL,
        UpdateFrequency.MONTHLY,
        [
            ("insured_employees", "social_insurance.insured_employees"),
            ("paid_through", "social_insurance.paid_through"),
            ("unpaid_months", "social_insurance.unpaid_months"),
            ("unpaid_amount", "social_insurance.unpaid_amount"),
        ],
        consent_required=True,
        description="人社部门提供：单位职工社会保险参保与缴费情况。",
    ),
    DatasetSpec(
        "customs_open_procedures",
        "海关未办结手续",
        Source.RECORDS,
        SubjectType.ENTERPRISE,
        "customs",
        Sharing.CONDITIONAL,
        UpdateFrequency.DAILY,
        [
            ("open_procedures", "customs.open_procedures"),
            ("oldest_open_since", "customs.oldest_open_since"),
        ],
        consent_required=True,
        description="海关提供：企业尚未办结的海关手续（报关、担保、稽查等）。",
    ),
    DatasetSpec(
        "pension_benefits",
        "养老保险待遇发放信息",
        Source.RECORDS,
        SubjectType.PERSON,
        "hrss",
        Sharing.CONDITIONAL,
        UpdateFrequency.MONTHLY,
        [
            ("benefit_status", "benefit.status"),
            ("monthly_amount", "benefit.monthly_amount"),
            ("paid_through", "benefit.paid_through"),
        ],
        description="人社部门提供：城乡居民基本养老保险待遇发放状态（发放中 active / 已停发 stopped）。",  # noqa: E501
    ),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"  # noqa: E501
GIVEN_CHARS = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国文斌宇浩然欣怡子涵梓轩雨泽思远佳琪晨阳嘉怡一诺俊杰婷婷"  # noqa: E501
STREETS = [
    "市民大道",
    "滨江路",
    "高新大道",
    "人民路",
    "解放路",
    "文化街",
    "科技路",
    "和平路",
    "学府路",
    "江城大道",
]
TRADE_WORDS = [
    "恒信",
    "瑞丰",
    "华创",
    "启明",
    "嘉禾",
    "宏远",
    "新泰",
    "博达",
    "鼎盛",
    "安和",
    "锦程",
    "同舟",
    "德润",
    "云帆",
    "致远",
    "长青",
]
INDUSTRIES = [
    "科技",
    "贸易",
    "餐饮管理",
    "建筑工程",
    "物流",
    "文化传媒",
    "电子",
    "食品",
    "咨询",
    "医药",
]
PROBLEM_ENTERPRISE_NAME = "示范市滨江进出口贸易有限公司"
PROBLEM_ENTERPRISE_INDEX = 2


def _demo() -> Any:
    """The demo city's module (imported late: it may import this module while seeding)."""
    from onewindow import demo

    return demo


def problem_enterprise_uscc() -> str:
    return str(_demo().demo_uscc(PROBLEM_ENTERPRISE_INDEX, "1", authority="9"))


Records = dict[str, list[tuple[str, dict[str, Any]]]]


@dataclass
class Defects:
    """The rows that carry ``DEMO_DEFECTS``: loaded after the clean ones. ``stale`` records
    replace clean ones with an ``as_of`` ``STALE_DAYS`` back."""

    persons: list[PersonRow] = field(default_factory=list)
    entities: list[LegalEntityRow] = field(default_factory=list)
    records: Records = field(default_factory=dict)
    stale: Records = field(default_factory=dict)


@dataclass
class DemoData:
    persons: list[PersonRow] = field(default_factory=list)
    entities: list[LegalEntityRow] = field(default_factory=list)
    records: Records = field(default_factory=dict)
    defects: Defects = field(default_factory=Defects)


def _random_date(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=rng.randrange((last - first).days + 1))


def _address(rng: random.Random) -> str:
    return (
        f"{rng.choice(STREETS)}{rng.randint(1, 300)}号"
        f"{rng.randint(1, 30)}栋{rng.randint(1, 4)}单元"
        f"{rng.randint(1, 30)}{rng.randint(1, 4):02d}室"
    )


def generate(
    *,
    persons: int = 10_000,
    enterprises: int = 1_000,
    random_seed: int = RANDOM_SEED,
    today: dt.date | None = None,
) -> DemoData:
    """The demo population, pure and deterministic (no database): the same arguments give the
    same rows. ``today`` only dates the department records (as of, paid through)."""
    if not 1 <= enterprises <= 9999 or persons < 3:
        raise ValueError("between 1 and 9999 enterprises, and at least the 3 demo citizens")
    demo = _demo()
    today = today or timezone.localdate()
    rng = random.Random(random_seed)  # noqa: S311 - fictional demo data, not a secret
    districts = [code for code, _name in demo.DISTRICTS]
    data = DemoData()
    used: set[str] = set()
    by_id: dict[str, PersonRow] = {}

    for account in demo.CITIZENS:  # the demo's own citizens come first, as they are
        id_number = account.id_number
        birth = dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
        row = PersonRow(
            id_number=id_number,
            name=account.display_name,
            sex=Sex.MALE if int(id_number[16]) % 2 else Sex.FEMALE,
            birth_date=birth,
            region_code=id_number[:6],
            address=_address(rng),
        )
        used.add(id_number)
        by_id[id_number] = row
        data.persons.append(row)

    while len(data.persons) < persons:
        region = rng.choice(districts)
        birth = _random_date(rng, BIRTH_FIRST, BIRTH_LAST)
        male = rng.random() < 0.5
        sequence = rng.randrange(0, 500) * 2 + (1 if male else 0)
        first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
        id_number = first17 + id_number_check_char(first17)
        if id_number in used:
            continue
        used.add(id_number)
        deceased = birth.year < 1960 and rng.random() < 0.08
        death = _random_date(rng, dt.date(2015, 1, 1), BIRTH_LAST) if deceased else None
        row = PersonRow(
            id_number=id_number,
            name=rng.choice(SURNAMES)
            + "".join(rng.choice(GIVEN_CHARS) for _ in range(rng.choice((1, 2)))),
            sex=Sex.MALE if male else Sex.FEMALE,
            birth_date=birth,
            region_code=region,
            address=_address(rng),
            status=LifeStatus.DECEASED if deceased else LifeStatus.ALIVE,
            death_date=death,
        )
        by_id[id_number] = row
        data.persons.append(row)

    adults = [
        p
        for p in data.persons
        if p.status == LifeStatus.ALIVE and p.birth_date <= dt.date(2000, 1, 1)
    ]
    citizens = {a.username: a.id_number for a in demo.CITIZENS}
    names: set[str] = set()
    for index in range(1, enterprises + 1):
        if index == 1:
            name, kind, rep = demo.ENTERPRISE_NAME, EntityType.LIMITED_COMPANY, citizens["lisi"]
        elif index == PROBLEM_ENTERPRISE_INDEX:
            name, kind, rep = (
                PROBLEM_ENTERPRISE_NAME,
                EntityType.LIMITED_COMPANY,
                citizens["wangwu"],
            )
        else:
            kind = rng.choices(
                [
                    EntityType.LIMITED_COMPANY,
                    EntityType.SOLE_PROPRIETOR,
                    EntityType.PARTNERSHIP,
                    EntityType.JOINT_STOCK,
                    EntityType.COOPERATIVE,
                ],
                weights=[60, 25, 7, 5, 3],
            )[0]
            rep = rng.choice(adults).id_number
            suffix = {
                EntityType.LIMITED_COMPANY: "有限公司",
                EntityType.JOINT_STOCK: "股份有限公司",
                EntityType.SOLE_PROPRIETOR: "经营部",
                EntityType.PARTNERSHIP: "（有限合伙）",
                EntityType.COOPERATIVE: "专业合作社",
            }[kind]
            base = f"示范市{rng.choice(TRADE_WORDS)}{rng.choice(INDUSTRIES)}"
            name = base + suffix
            if name in names:
                name = f"{base}{index}号{suffix}"
        names.add(name)
        org_type = {EntityType.SOLE_PROPRIETOR: "2", EntityType.COOPERATIVE: "3"}.get(kind, "1")
        uscc = demo.demo_uscc(index, org_type, authority="9")
        data.entities.append(
            LegalEntityRow(
                uscc=uscc,
                name=name,
                entity_type=kind,
                representative_id_number=rep,
                region_code=rng.choice(districts),
                address=_address(rng),
                established_on=_random_date(rng, dt.date(1995, 1, 1), dt.date(2025, 6, 30)),
                status="active" if index <= 2 or rng.random() > 0.03 else "deregistered",
            )
        )
    data.records = _records(rng, data.entities, today)
    data.records["pension_benefits"] = _pensions(rng, data.persons, today)
    if len(data.persons) >= 5 and len(data.entities) >= 6:
        data.defects = _defects(random_seed, data, used, today)
    return data


def _month_before(day: dt.date) -> dt.date:
    return day.replace(day=1) - dt.timedelta(days=1)


def _pension(rng: random.Random, person: PersonRow, today: dt.date) -> dict[str, Any]:
    stopped = person.status == LifeStatus.DECEASED and person.death_date is not None
    paid_through = _month_before(person.death_date if stopped else today)  # type: ignore[arg-type]
    return {
        "benefit_status": "stopped" if stopped else "active",
        "monthly_amount": str(Decimal(rng.randint(15_000, 300_000)) / 100),
        "paid_through": f"{paid_through:%Y-%m}",
    }


def _pensions(
    rng: random.Random, persons: list[PersonRow], today: dt.date
) -> list[tuple[str, dict[str, Any]]]:
    """A pension for every resident of ``PENSION_AGE`` or more; stopped at death."""
    born_by = today.replace(year=today.year - PENSION_AGE)
    return [(p.id_number, _pension(rng, p, today)) for p in persons if p.birth_date <= born_by]


def _defects(random_seed: int, data: DemoData, used: set[str], today: dt.date) -> Defects:
    """``DEMO_DEFECTS``, deterministic: their own random stream, so the clean rows do not
    change with them."""
    demo = _demo()
    rng = random.Random(random_seed + 1)  # noqa: S311 - fictional demo data
    districts = [code for code, _name in demo.DISTRICTS]
    defects = Defects()

    def new_id(birth: dt.date, male: bool, region: str) -> str:
        sequence = rng.randrange(0, 500) * 2 + (1 if male else 0)
        first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
        id_number = first17 + id_number_check_char(first17)
        if id_number in used:
            return new_id(birth, male, region)
        used.add(id_number)
        return id_number

    def someone(born_from: dt.date, born_to: dt.date, **changes: Any) -> PersonRow:
        birth, male, region = (
            _random_date(rng, born_from, born_to),
            rng.random() < 0.5,
            rng.choice(districts),
        )
        row = PersonRow(
            id_number=new_id(birth, male, region),
            name=rng.choice(SURNAMES) + rng.choice(GIVEN_CHARS) + rng.choice(GIVEN_CHARS),
            sex=Sex.MALE if male else Sex.FEMALE,
            birth_date=birth,
            region_code=region,
            address=_address(rng),
        )
        return replace(row, **changes)

    # Two ID numbers with a wrong check digit (a legacy load that bypassed validation).
    for _ in range(2):
        row = someone(dt.date(1970, 1, 1), dt.date(1995, 12, 31))
        good = row.id_number[17]
        wrong = "0123456789X"[("0123456789X".index(good) + 1) % 11]
        defects.persons.append(replace(row, id_number=row.id_number[:17] + wrong))
    # Two persons registered a second time under another ID number (same name, birth date,
    # household address).
    for original in data.persons[3:5]:
        male = original.sex == Sex.MALE
        defects.persons.append(
            replace(original, id_number=new_id(original.birth_date, male, original.region_code))
        )
    # Three deceased persons whose pension was never stopped.
    pensions = []
    for _ in range(3):
        row = someone(
            dt.date(1940, 1, 1),
            dt.date(1955, 12, 31),
            status=LifeStatus.DECEASED,
            death_date=_random_date(rng, dt.date(2025, 1, 1), dt.date(2025, 12, 31)),
        )
        defects.persons.append(row)
        values = _pension(rng, replace(row, status=LifeStatus.ALIVE), today)
        pensions.append((row.id_number, values))
    defects.records["pension_benefits"] = pensions

    count = len(data.entities)
    representative = data.entities[0].representative_id_number
    # One USCC with a wrong check character; one enterprise name under a second USCC.
    bad = demo.demo_uscc(count + 1, "1", authority="9")
    wrong = next(c for c in "0123456789ABCDEFGHJKLMNPQRTUWXY" if c != uscc_check_char(bad[:17]))
    twin = data.entities[2]
    for uscc, name in (
        (bad[:17] + wrong, "示范市永安商贸有限公司"),
        (demo.demo_uscc(count + 2, "1", authority="9"), twin.name),
    ):
        defects.entities.append(
            LegalEntityRow(
                uscc=uscc,
                name=name,
                entity_type=EntityType.LIMITED_COMPANY,
                representative_id_number=representative,
                region_code=rng.choice(districts),
                address=_address(rng),
                established_on=_random_date(rng, dt.date(2010, 1, 1), dt.date(2024, 12, 31)),
            )
        )
    # A tax record delivered again under its USCC with a trailing space.
    key, values = data.records["tax_arrears"][5]
    defects.records["tax_arrears"] = [(key + " ", values)]
    # Three social-insurance records not delivered again for STALE_DAYS.
    defects.stale["social_insurance"] = data.records["social_insurance"][2:5]
    return defects


def _records(
    rng: random.Random, entities: list[LegalEntityRow], today: dt.date
) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    month_start = today.replace(day=1)
    last_month = month_start - dt.timedelta(days=1)
    tax, social, customs = [], [], []
    for index, entity in enumerate(entities, start=1):
        problem = index == PROBLEM_ENTERPRISE_INDEX
        clean = index == 1
        owes = problem or (not clean and rng.random() < 0.03)
        tax.append(
            (
                entity.uscc,
                {
                    "in_arrears": owes,
                    "arrears_amount": str(
                        Decimal(rng.randint(50_000, 5_000_000)) / 100 if owes else Decimal("0.00")
                    ),
                    "overdue_since": (
                        (today - dt.timedelta(days=rng.randint(30, 400))).isoformat()
                        if owes
                        else None
                    ),
                },
            )
        )
        employees = rng.randint(1, 200)
        behind = problem or (not clean and rng.random() < 0.04)
        unpaid_months = rng.randint(1, 6) if behind else 0
        paid_through = last_month
        for _ in range(unpaid_months):
            paid_through = paid_through.replace(day=1) - dt.timedelta(days=1)
        social.append(
            (
                entity.uscc,
                {
                    "insured_employees": employees,
                    "paid_through": f"{paid_through:%Y-%m}",
                    "unpaid_months": unpaid_months,
                    "unpaid_amount": str(
                        Decimal(employees * unpaid_months * rng.randint(90_000, 160_000)) / 100
                        if behind
                        else Decimal("0.00")
                    ),
                },
            )
        )
        open_count = (
            2 if problem else (rng.randint(1, 3) if not clean and rng.random() < 0.02 else 0)
        )
        customs.append(
            (
                entity.uscc,
                {
                    "open_procedures": open_count,
                    "oldest_open_since": (
                        (today - dt.timedelta(days=rng.randint(10, 200))).isoformat()
                        if open_count
                        else None
                    ),
                },
            )
        )
    return {"tax_arrears": tax, "social_insurance": social, "customs_open_procedures": customs}


def _customs_department() -> Department:
    demo = _demo()
    found = Department.objects.filter(code=CUSTOMS[0]).first()
    if found is not None:
        return found
    city = demo.CITY[0]
    from onewindow.org.models import Region

    return org_services.department_upsert(
        code=CUSTOMS[0],
        name=CUSTOMS[1],
        short_name=CUSTOMS[2],
        uscc=demo.demo_uscc(len(demo.DEPARTMENTS) + 1, "1"),
        region=Region.objects.get(code=city),
        phone=CUSTOMS[3],
        address=f"示范市中心区市民大道{len(demo.DEPARTMENTS) + 1}号",
    )


def catalog_seed() -> dict[str, int]:
    """The data dictionary and the sharing catalog (needs the demo city's departments)."""
    departments = {d.code: d for d in Department.objects.all()}
    departments[CUSTOMS[0]] = _customs_department()
    for key, name, data_type, classification, masking, owner in ELEMENTS:
        services.element_upsert(
            key=key,
            name=name,
            data_type=data_type,
            classification=classification,
            masking=masking,
            owner=departments[owner],
        )
    for spec in DATASETS:
        services.dataset_upsert(
            key=spec.key,
            name=spec.name,
            source=spec.source,
            subject_type=spec.subject_type,
            owner=departments[spec.owner],
            sharing=spec.sharing,
            update_frequency=spec.frequency,
            fields=spec.fields,
            consent_required=spec.consent_required,
            description=spec.description,
        )
    return {"elements": len(ELEMENTS), "datasets": len(DATASETS)}


@transaction.atomic
def seed(
    *,
    persons: int = 10_000,
    enterprises: int = 1_000,
    random_seed: int = RANDOM_SEED,
    defects: bool = True,
) -> dict[str, int]:
    """Seed the hub of the demo city (run after ``onewindow.demo.seed``). Idempotent. With
    ``defects`` (and enough rows) the ``DEMO_DEFECTS`` too; ``defects_seeded`` counts them."""
    from onewindow.datahub.models import Dataset

    counts = catalog_seed()
    data = generate(persons=persons, enterprises=enterprises, random_seed=random_seed)
    extra = data.defects if defects else Defects()
    datasets = {d.key: d for d in Dataset.objects.filter(key__in=[s.key for s in DATASETS])}

    def batch(key: str) -> Any:
        return services.import_batch_start(
            dataset=datasets[key], origin=ImportOrigin.GENERATOR, actor=GENERATOR_ACTOR
        )

    def finish(run: Any, total: int, added: int) -> None:
        services.import_batch_finish(batch=run, rows_total=total, rows_ok=added, rows_rejected=0)

    people = [*data.persons, *extra.persons]
    run = batch("population")
    counts["persons_added"] = services.persons_load(rows=people, batch=run)
    finish(run, len(people), counts["persons_added"])
    entities = [*data.entities, *extra.entities]
    run = batch("legal_entity")
    counts["legal_entities_added"] = services.legal_entities_load(rows=entities, batch=run)
    finish(run, len(entities), counts["legal_entities_added"])
    as_of = timezone.localdate()
    for key, records in data.records.items():
        run = batch(key)
        delivered = [*records, *extra.records.get(key, [])]
        counts[key] = services.dataset_records_load(
            dataset=datasets[key], records=delivered, as_of=as_of, batch=run
        )
        stale = extra.stale.get(key, [])
        if stale:
            services.dataset_records_load(
                dataset=datasets[key],
                records=stale,
                as_of=as_of - dt.timedelta(days=STALE_DAYS),
                batch=run,
            )
        finish(run, len(delivered), counts[key])
    counts["defects_seeded"] = (
        sum(sum(checks.values()) for checks in DEMO_DEFECTS.values()) if extra.persons else 0
    )
    return counts


@transaction.atomic
def reset() -> dict[str, int]:
    """Remove the hub's demo rows and the customs department (before the demo city's reset
    deletes the departments the catalog points at)."""
    counts = services.datahub_clear()
    counts["customs"] = org_services.department_delete(code=CUSTOMS[0])
    return counts
