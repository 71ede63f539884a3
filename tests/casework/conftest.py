from __future__ import annotations

import datetime as dt
import io
import zipfile
from typing import Any

import pytest

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32


def ofd_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("OFD.xml", "<ofd:OFD xmlns:ofd='http://www.ofdspec.org/2016'/>")
        package.writestr("Doc_0/Document.xml", "<ofd:Document/>")
    return buffer.getvalue()


def subject_for(username: str) -> Any:
    from onewindow.identity.access import _person_subject
    from onewindow.identity.models import User

    return _person_subject(User.objects.get(username=username), mfa=True)


def food_answers(**changes: Any) -> dict[str, Any]:
    from onewindow import demo

    zhangsan = next(a for a in demo.CITIZENS if a.username == "zhangsan")
    answers: dict[str, Any] = {
        "operator_name": "示范小吃店",
        "uscc": demo.ENTERPRISE_USCC,
        "legal_representative": "张三",
        "business_premises": {"region": "990102", "detail": "市民大道2号"},
        "operator_type": "catering",
        "business_items": ["hot_food"],
        "premises_area": 80,
        "food_safety_manager": "张三",
        "manager_id_number": zhangsan.id_number,
        "contact_phone": "13800000001",
    }
    answers.update(changes)
    return answers


FOOD_MATERIALS = ("license_application", "layout_plan", "safety_rules")


@pytest.fixture
def city(demo_catalog):
    return demo_catalog


@pytest.fixture
def on_day(monkeypatch):
    """Pin the casework clock: ``on_day(date)`` makes every later call happen on that date."""
    from onewindow.casework import services

    def pin(day: dt.date) -> None:
        monkeypatch.setattr(services, "today", lambda: day)

    return pin


def food_draft(username: str = "zhangsan", **changes: Any) -> Any:
    from onewindow.casework import services

    subject = subject_for(username)
    application = services.application_create(
        subject=subject, service_code="food_business_license", form_data=food_answers(**changes)
    )
    for key in FOOD_MATERIALS:
        services.material_upload(
            subject=subject, application=application, material_key=key, name=f"{key}.pdf", data=PDF
        )
    application.refresh_from_db()
    return application


def food_submitted(username: str = "zhangsan", **changes: Any) -> Any:
    from onewindow.casework import services

    application = food_draft(username, **changes)
    return services.application_submit(subject=subject_for(username), application=application)


def open_item(number: str, step: str) -> Any:
    from onewindow.workflow.models import WorkItem

    return WorkItem.objects.get(case_number=number, step=step, status__in=["open", "paused"])


def act(username: str, item: Any, action: str, **kwargs: Any) -> Any:
    from onewindow.casework import services

    item.refresh_from_db()
    return services.task_act(
        subject=subject_for(username),
        item_id=item.pk,
        version=item.version,
        action=action,
        **kwargs,
    )
