from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest

MACHINE_SECRET = "datahub-machine-secret-for-tests-0123456789"
CASE = {"HTTP_X_CASE_NUMBER": "SFS-2026-000123", "HTTP_X_PURPOSE": "企业开办联办核验"}


def staff_subject(username: str) -> Any:
    from onewindow.identity.access import _person_subject
    from onewindow.identity.models import User

    return _person_subject(User.objects.get(username=username), mfa=True)


def citizen_subject(username: str, acting_for: Any = None) -> Any:
    subject = staff_subject(username)
    subject.acting_for = acting_for
    return subject


@pytest.fixture
def hub(demo_city):
    """The demo city with the hub's catalog and a small generated population (the demo
    citizens, 200 persons, 20 enterprises: no. 1 is the demo enterprise, no. 2 the one with
    tax arrears, unpaid social insurance and an open customs procedure)."""
    from onewindow.datahub import demo as hub_demo

    hub_demo.seed(persons=200, enterprises=20)
    return hub_demo


@pytest.fixture
def stewards(hub):
    """A data steward in public security (owner of the population registry), in market
    regulation and in tax."""
    from onewindow.identity import services as identity
    from onewindow.org.models import Department, Region

    city = Region.objects.get(code="990100")
    for code in ("public_security", "market", "tax", "hrss"):
        identity.staff_upsert(
            username=f"{code}_steward",
            display_name=f"{code} 数据管理员",
            department=Department.objects.get(code=code),
            region=city,
            roles=["data_steward"],
            password="Steward-Test-2026",
        )
    return {
        code: staff_subject(f"{code}_steward")
        for code in ("public_security", "market", "tax", "hrss")
    }


@pytest.fixture
def agreement(stewards):
    """Make an approved agreement: ``agreement(dataset_key, consumer_code, fields, clear=())``."""
    from onewindow.datahub import services
    from onewindow.datahub.models import Dataset

    def make(dataset_key: str, consumer: str, fields: list[str], clear: tuple[str, ...] = ()):
        dataset = Dataset.objects.get(key=dataset_key)
        requested = services.agreement_request(
            subject=stewards[consumer],
            dataset=dataset,
            fields=fields,
            clear_fields=list(clear),
            purpose="企业开办、变更业务核验",
            legal_basis="《优化营商环境条例》第三十七条",
            expires_on=dt.date.today() + dt.timedelta(days=365),
        )
        owner = dataset.owner.code
        return services.agreement_decide(subject=stewards[owner], agreement=requested, approve=True)

    return make


def basic_auth(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@pytest.fixture
def machine(client, hub):
    """A machine client of a department with the datahub scope; returns request headers."""
    from onewindow.identity import services as identity
    from onewindow.org.models import Department

    def make(department: str | None = "market", client_id: str = "", scope: str = "datahub"):
        client_id = client_id or f"{department or 'none'}-system"
        identity.client_register(
            name=f"{department} 业务系统",
            kind="machine",
            client_id=client_id,
            client_secret=MACHINE_SECRET,
            allowed_scopes="datahub",
            department=Department.objects.get(code=department) if department else None,
        )
        token = client.post(
            "/o/token/",
            {"grant_type": "client_credentials", "scope": scope},
            HTTP_AUTHORIZATION=basic_auth(client_id, MACHINE_SECRET),
        )
        assert token.status_code == 200, token.content
        return {"HTTP_AUTHORIZATION": f"Bearer {token.json()['access_token']}", **CASE}

    return make


def person_id(username: str) -> str:
    from onewindow import demo

    return next(a.id_number for a in demo.CITIZENS if a.username == username)
