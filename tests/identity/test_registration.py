"""Real-name registration, login by SMS code, the password rules and 'log out other devices'."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone
from tests.conftest import demo_account, page_login

from onewindow.identity.models import CitizenProfile, PasswordHistory, User
from onewindow.identity.sms import LogGateway
from onewindow.kit.validators import id_number_check_char

pytestmark = pytest.mark.django_db

NEW_ID = "99010219950505" + "123"
NEW_ID = NEW_ID + id_number_check_char(NEW_ID)


def signup(client: Client, **overrides: str):
    form = {
        "username": "zhaoliu",
        "real_name": "赵六",
        "id_number": NEW_ID,
        "phone": "139 0000 0066",
        "password1": "Safe-Passw0rd-2026",
        "password2": "Safe-Passw0rd-2026",
    }
    form.update(overrides)
    return client.post("/accounts/signup/", form)


def last_sms_code() -> str:
    _phone, text = LogGateway.sent[-1]
    return re.search(r"\b([A-Z0-9]{4}-?[A-Z0-9]{2,4})\b", text).group(1)


def test_registration_stores_real_name_data_encrypted_and_verifies_the_mobile(client, demo_city):
    LogGateway.sent.clear()
    response = signup(client)
    assert response.status_code == 302, response.content.decode()[-3000:]
    user = User.objects.get(username="zhaoliu")
    profile = CitizenProfile.objects.get(user=user)
    assert profile.real_name == "赵六"
    assert NEW_ID not in profile.id_number_encrypted
    assert "13900000066" not in profile.phone_encrypted
    assert profile.phone_verified is False
    # The mobile is verified with a code sent through the SMS gateway.
    assert LogGateway.sent
    assert LogGateway.sent[-1][0] == "+8613900000066"
    verify = client.post(response["Location"], {"code": last_sms_code()})
    assert verify.status_code == 302
    profile.refresh_from_db()
    assert profile.phone_verified is True


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("id_number", "11010519491231002A", "公民身份号码应为 17 位数字加 1 位数字或 X"),
        ("id_number", "110105194912310021", "校验码不正确"),
        ("phone", "12345", "11 位"),
        ("password1", "alllowercase", "至少"),
    ],
)
def test_registration_errors_name_the_field(client, demo_city, field, value, message):
    overrides = {field: value}
    if field == "password1":
        overrides["password2"] = value
    response = signup(client, **overrides)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.filter(username="zhaoliu").exists()


def test_one_account_per_id_number(client, demo_city):
    zhangsan = demo_account("zhangsan")
    response = signup(client, id_number=zhangsan["id_number"])
    assert response.status_code == 200
    assert "该证件号码已注册" in response.content.decode()


def test_login_with_id_number_or_mobile(client, demo_city):
    zhangsan = demo_account("zhangsan")
    assert page_login(client, zhangsan["id_number"], zhangsan["password"]).status_code == 302
    other = Client()
    assert page_login(other, zhangsan["phone"], zhangsan["password"]).status_code == 302
    assert other.get("/api/v1/me").json()["username"] == "zhangsan"


def test_login_by_sms_code(client, demo_city):
    LogGateway.sent.clear()
    response = client.post("/accounts/login/code/", {"phone": "13800000001"})
    assert response.status_code == 302
    assert LogGateway.sent[-1][0] == "+8613800000001"
    confirm = client.post(response["Location"], {"code": last_sms_code()})
    assert confirm.status_code == 302
    assert client.get("/api/v1/me").json()["username"] == "zhangsan"


def test_password_history_forbids_the_last_five(client, demo_city):
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    user = User.objects.get(username="zhangsan")
    passwords = [f"History-{n}-Pass" for n in range(6)]
    for password in passwords:
        user.set_password(password)
        user.save()
    assert PasswordHistory.objects.filter(user=user).count() == 5
    for recent in passwords[1:]:
        with pytest.raises(ValidationError, match="5"):
            validate_password(recent, user)
    validate_password(passwords[0], user)  # the sixth-last may come back


def test_staff_password_expires_after_90_days(client, demo_city):
    clerk = demo_account("clerk")
    User.objects.filter(username="clerk").update(
        password_changed_at=timezone.now() - dt.timedelta(days=91)
    )
    page_login(client, "clerk", clerk["password"])
    response = client.get("/accounts/security/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/password/change/")
    # Changing it lifts the block.
    change = client.post(
        "/accounts/password/change/",
        {
            "oldpassword": clerk["password"],
            "password1": "Fresh-Staff-2027",
            "password2": "Fresh-Staff-2027",
        },
    )
    assert change.status_code == 302
    assert client.get("/accounts/security/").status_code == 200


def test_citizen_passwords_do_not_expire(client, demo_city):
    User.objects.filter(username="zhangsan").update(
        password_changed_at=timezone.now() - dt.timedelta(days=400)
    )
    page_login(client, "zhangsan", demo_account("zhangsan")["password"])
    assert client.get("/accounts/security/").status_code == 200


def test_log_out_other_devices(demo_city):
    zhangsan = demo_account("zhangsan")
    laptop, phone = Client(), Client()
    page_login(laptop, "zhangsan", zhangsan["password"])
    page_login(phone, "zhangsan", zhangsan["password"])
    assert phone.get("/accounts/security/").status_code == 200
    sessions = laptop.get("/accounts/sessions/")
    assert sessions.status_code == 200
    response = laptop.post("/accounts/sessions/", {"action": "logout"})
    assert response.status_code == 302
    assert laptop.get("/accounts/security/").status_code == 200  # this device stays
    assert phone.get("/accounts/security/").status_code == 302  # the other is logged out


def test_security_page_shows_masked_data_and_login_history(client, demo_city):
    zhangsan = demo_account("zhangsan")
    page_login(client, "zhangsan", zhangsan["password"])
    page = client.get("/accounts/security/").content.decode()
    assert "张*" in page
    assert zhangsan["id_number"] not in page
    assert zhangsan["id_number"][:3] + "*" * 11 + zhangsan["id_number"][-4:] in page
    assert "138****0001" in page
    assert "登录" in page  # the history table lists the login


@pytest.mark.parametrize("username", ["13800000001", "138-0000-0001", NEW_ID])
def test_a_username_cannot_look_like_a_mobile_or_id_number(client, demo_city, username):
    """Otherwise a squatter's username would capture logins by someone else's number."""
    response = signup(client, username=username, phone="13900000077")
    assert response.status_code == 200
    assert "用户名不能是手机号码或身份证号码" in response.content.decode()
    assert not User.objects.filter(username=username).exists()
