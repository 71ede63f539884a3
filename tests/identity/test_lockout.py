"""Login lockout (django-axes): 5 failures lock the account and, separately, the client IP for
15 minutes; the locked answer is the same whether or not the account exists."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.test import Client
from tests.conftest import api_login, demo_account

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")
WRONG = "Wrong-Password-1"


def _api(ip: str) -> Client:
    return Client(REMOTE_ADDR=ip)


def _body(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    return json.loads(response.content)


def _assert_envelope(response, status: int, code: str) -> dict:
    body = _body(response)
    assert response.status_code == status, body
    assert body["code"] == code, body
    assert body["message"]
    assert body["request_id"] == response["X-Request-ID"]
    return body


def _fail_api(client: Client, username: str, times: int) -> list:
    return [api_login(client, username, WRONG) for _ in range(times)]


def _page_login(client: Client, login: str, password: str):
    return client.post("/accounts/login/", {"login": login, "password": password})


def _rewind_attempts(minutes: int) -> int:
    from axes.models import AccessAttempt

    past = dt.timedelta(minutes=minutes)
    count = 0
    for attempt in AccessAttempt.objects.all():
        AccessAttempt.objects.filter(pk=attempt.pk).update(attempt_time=attempt.attempt_time - past)
        count += 1
    return count


# --- API ------------------------------------------------------------------------------------


def test_wrong_password_is_invalid_credentials_in_chinese(demo_city):
    response = api_login(_api("10.0.0.1"), "zhangsan", WRONG)
    body = _assert_envelope(response, 401, "INVALID_CREDENTIALS")
    assert CJK.search(body["message"]), body["message"]
    assert "access_token" not in body


def test_four_failures_then_the_right_password_works(demo_city):
    client = _api("10.0.0.2")
    password = demo_account("zhangsan")["password"]
    for response in _fail_api(client, "zhangsan", 4):
        _assert_envelope(response, 401, "INVALID_CREDENTIALS")
    response = api_login(client, "zhangsan", password)
    assert response.status_code == 200, response.content
    assert _body(response)["access_token"]


def test_a_successful_api_login_starts_the_count_over(demo_city):
    """AXES_RESET_ON_SUCCESS holds for the API as for the login page: earlier typos of a
    person who then logged in do not add up to a lockout."""
    client = _api("10.0.0.8")
    password = demo_account("zhangsan")["password"]
    for _ in range(2):
        for response in _fail_api(client, "zhangsan", 4):
            _assert_envelope(response, 401, "INVALID_CREDENTIALS")
        response = api_login(client, "zhangsan", password)
        assert response.status_code == 200, response.content
    # The count still locks at five after the reset.
    answers = _fail_api(client, "zhangsan", 5)
    _assert_envelope(answers[-1], 429, "ACCOUNT_LOCKED")


def test_fifth_failure_locks_and_then_even_the_right_password_is_refused(demo_city):
    from axes.models import AccessAttempt

    client = _api("10.0.0.3")
    password = demo_account("zhangsan")["password"]
    answers = _fail_api(client, "zhangsan", 5)
    for response in answers[:4]:
        _assert_envelope(response, 401, "INVALID_CREDENTIALS")
    _assert_envelope(answers[4], 429, "ACCOUNT_LOCKED")
    assert AccessAttempt.objects.filter(username="zhangsan").exists()

    locked = api_login(client, "zhangsan", password)
    _assert_envelope(locked, 429, "ACCOUNT_LOCKED")
    assert "access_token" not in _body(locked)
    # The lock is on the account, not just this address.
    _assert_envelope(api_login(_api("10.0.0.4"), "zhangsan", password), 429, "ACCOUNT_LOCKED")


CASE_SPELLINGS = ["zhangsan", "ZHANGSAN", "Zhangsan", "zHangsan", "zhAngsan"]


@pytest.mark.parametrize(
    "spellings",
    [
        ["13800000001", "+8613800000001", "138 0000 0001", "138-0000-0001", "008613800000001"],
        CASE_SPELLINGS,
    ],
    ids=["mobile", "case"],
)
def test_other_spellings_of_one_login_name_count_together(demo_city, spellings):
    """Each spelling logs in (so each must count): five failures spread over them lock."""
    password = demo_account("zhangsan")["password"]
    # Every spelling is accepted for the login itself.
    for index, spelling in enumerate(set(spellings)):
        response = api_login(_api(f"10.0.6.{index}"), spelling, password)
        assert response.status_code == 200, (spelling, response.content)
    answers = [
        api_login(_api(f"10.0.7.{index}"), spelling, WRONG)
        for index, spelling in enumerate(spellings)
    ]
    assert [r.status_code for r in answers] == [401, 401, 401, 401, 429]
    for index, spelling in enumerate(spellings):
        response = api_login(_api(f"10.0.8.{index}"), spelling, password)
        _assert_envelope(response, 429, "ACCOUNT_LOCKED")


def test_id_number_spellings_count_together(demo_city):
    id_number = demo_account("zhangsan")["id_number"]
    assert id_number.endswith("X") or id_number[-1].isdigit()
    spellings = [id_number, id_number.lower(), f" {id_number} ", id_number, id_number.lower()]
    answers = [
        api_login(_api(f"10.0.9.{index}"), spelling, WRONG)
        for index, spelling in enumerate(spellings)
    ]
    assert [r.status_code for r in answers] == [401, 401, 401, 401, 429]


def test_unknown_username_gets_the_same_locked_answer(demo_city):
    known = _fail_api(_api("10.0.1.1"), "zhangsan", 6)
    unknown = _fail_api(_api("10.0.1.2"), "nobody-here", 6)
    for mine, theirs in zip(known, unknown, strict=True):
        assert mine.status_code == theirs.status_code
        a, b = _body(mine), _body(theirs)
        assert (a["code"], a["message"], a["details"]) == (b["code"], b["message"], b["details"])
    assert [r.status_code for r in unknown] == [401, 401, 401, 401, 429, 429]
    assert _body(unknown[-1])["code"] == "ACCOUNT_LOCKED"


def test_lock_lifts_after_the_cool_off(demo_city):
    client = _api("10.0.0.5")
    password = demo_account("zhangsan")["password"]
    _fail_api(client, "zhangsan", 5)
    _assert_envelope(api_login(client, "zhangsan", password), 429, "ACCOUNT_LOCKED")

    assert _rewind_attempts(16) > 0  # past the 15-minute cool-off
    response = api_login(client, "zhangsan", password)
    assert response.status_code == 200, response.content
    assert _body(response)["access_token"]


def test_ip_lockout_across_usernames(demo_city):
    attacker = _api("10.0.2.1")
    for index in range(5):
        api_login(attacker, f"guess{index}", WRONG)
    password = demo_account("lisi")["password"]
    # lisi never failed, but this address is locked.
    _assert_envelope(api_login(attacker, "lisi", password), 429, "ACCOUNT_LOCKED")
    # From another address lisi logs in.
    response = api_login(_api("10.0.2.2"), "lisi", password)
    assert response.status_code == 200, response.content
    assert _body(response)["access_token"]


def test_locked_lisi_not_affected_by_zhangsan_lock(demo_city):
    client = _api("10.0.0.6")
    _fail_api(client, "zhangsan", 5)
    other = _api("10.0.0.7")
    response = api_login(other, "lisi", demo_account("lisi")["password"])
    assert response.status_code == 200, response.content


# --- the login page -------------------------------------------------------------------------


def test_page_four_failures_then_the_right_password_works(demo_city):
    client = _api("10.0.3.1")
    for _ in range(4):
        response = _page_login(client, "zhangsan", WRONG)
        assert response.status_code == 200  # the form again, with an error
        assert "_auth_user_id" not in client.session
    response = _page_login(client, "zhangsan", demo_account("zhangsan")["password"])
    assert response.status_code == 302
    assert client.session["_auth_user_id"]


def test_a_successful_page_login_starts_the_count_over(demo_city):
    password = demo_account("zhangsan")["password"]
    for round_ in range(2):
        client = _api("10.0.3.5")
        for _ in range(4):
            assert _page_login(client, "zhangsan", WRONG).status_code == 200
        assert _page_login(client, "zhangsan", password).status_code == 302, round_


def test_page_fifth_failure_shows_the_locked_page(demo_city):
    client = _api("10.0.3.2")
    for _ in range(4):
        assert _page_login(client, "zhangsan", WRONG).status_code == 200
    locked = _page_login(client, "zhangsan", WRONG)
    assert locked.status_code == 429
    assert "identity/locked.html" in [t.name for t in locked.templates]

    again = _page_login(client, "zhangsan", demo_account("zhangsan")["password"])
    assert again.status_code == 429
    assert "identity/locked.html" in [t.name for t in again.templates]
    assert "_auth_user_id" not in client.session
    # The API is locked for the account too.
    _assert_envelope(
        api_login(_api("10.0.3.3"), "zhangsan", demo_account("zhangsan")["password"]),
        429,
        "ACCOUNT_LOCKED",
    )


@pytest.mark.parametrize(
    ("spellings", "then"),
    [
        (
            [
                "+86 138 0000 0001",
                "138-0000-0001",
                "+8613800000001",
                "008613800000001",
                "13800000001",
            ],
            "138 0000 0001",
        ),
        (CASE_SPELLINGS, "ZhangSan"),
    ],
    ids=["mobile", "case"],
)
def test_page_other_spellings_of_one_login_name_count_together(demo_city, spellings, then):
    answers = [
        _page_login(_api(f"10.0.10.{index}"), spelling, WRONG)
        for index, spelling in enumerate(spellings)
    ]
    assert [r.status_code for r in answers] == [200, 200, 200, 200, 429]
    password = demo_account("zhangsan")["password"]
    assert _page_login(_api("10.0.10.99"), then, password).status_code == 429


def test_page_unknown_username_gets_the_same_locked_page(demo_city):
    known, unknown = _api("10.0.4.1"), _api("10.0.4.2")
    for _ in range(4):
        _page_login(known, "zhangsan", WRONG)
        _page_login(unknown, "nobody-here", WRONG)
    a = _page_login(known, "zhangsan", WRONG)
    b = _page_login(unknown, "nobody-here", WRONG)
    assert a.status_code == b.status_code == 429
    strip = re.compile(r"<code>[0-9a-f]+</code>|name=\"csrfmiddlewaretoken\" value=\"[^\"]+\"")
    assert strip.sub("", a.content.decode()) == strip.sub("", b.content.decode())


def test_page_lock_lifts_after_the_cool_off(demo_city):
    client = _api("10.0.3.4")
    for _ in range(5):
        _page_login(client, "zhangsan", WRONG)
    password = demo_account("zhangsan")["password"]
    assert _page_login(client, "zhangsan", password).status_code == 429
    _rewind_attempts(16)
    response = _page_login(client, "zhangsan", password)
    assert response.status_code == 302
    assert client.session["_auth_user_id"]


def test_page_ip_lockout_across_usernames(demo_city):
    attacker = _api("10.0.5.1")
    for index in range(5):
        _page_login(attacker, f"guess{index}", WRONG)
    password = demo_account("lisi")["password"]
    assert _page_login(attacker, "lisi", password).status_code == 429
    assert "_auth_user_id" not in attacker.session
    other = _api("10.0.5.2")
    assert _page_login(other, "lisi", password).status_code == 302
