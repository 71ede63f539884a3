"""In-app notifications: fed by the outbox, rendered in the reader's language, private."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext_lazy
from tests.conftest import api_login, demo_account, page_login

from onewindow.events import names
from onewindow.events import services as events
from onewindow.events.models import Delivery, DeliveryStatus
from onewindow.notify import messages, selectors, services
from onewindow.notify.consumers import CONSUMER
from onewindow.notify.models import Notification

pytestmark = pytest.mark.django_db

ACCEPTED = {"number": "SFS-2025-000123", "service_name": "企业设立登记"}


def accepted(notify_event, people, key="accepted:1", recipients=("zhangsan",), **extra):
    ids = [people[name].pk for name in recipients]
    params = {**ACCEPTED, **extra}
    return notify_event(
        names.APPLICATION_ACCEPTED, key, recipients=ids, link="/services/x/", **params
    )


# --- the consumer ------------------------------------------------------------------------------


def test_one_notification_per_recipient(notify_event, people):
    event = accepted(notify_event, people, recipients=("zhangsan", "lisi"))
    rows = Notification.objects.filter(event=event).order_by("recipient__username")
    assert [(n.recipient.username, n.kind, n.link) for n in rows] == [
        ("lisi", "application.accepted", "/services/x/"),
        ("zhangsan", "application.accepted", "/services/x/"),
    ]
    assert rows[0].params == ACCEPTED  # recipients and link are not display parameters
    assert Delivery.objects.get(event=event, consumer=CONSUMER).status == DeliveryStatus.DONE


def test_unknown_recipients_and_unsafe_links_are_dropped(notify_event, people):
    event = notify_event(
        names.TASK_ASSIGNED,
        "task:1",
        recipients=[people["clerk"].pk, 987654321, "x", None, 2**70, str(2**70), -1],
        link="//evil.example/phish",
    )
    rows = list(Notification.objects.filter(event=event))
    assert [(n.recipient.username, n.link) for n in rows] == [("clerk", "")]
    assert Delivery.objects.get(event=event).status == DeliveryStatus.DONE


def test_an_audience_reaches_the_departments_holders_of_the_role_at_delivery(notify_event, people):
    from onewindow.identity.models import User
    from onewindow.org.models import Department

    market = Department.objects.get(code="market")
    reviewers = set(
        User.objects.filter(
            is_active=True, staff__department=market, roles__role="reviewer"
        ).values_list("username", flat=True)
    )
    assert reviewers
    event = notify_event(
        names.TASK_ASSIGNED,
        "task:audience",
        audience={"department_id": market.pk, "role": "reviewer"},
        recipients=[people["zhangsan"].pk],
        number="A-9",
    )
    told = Notification.objects.filter(event=event).values_list("recipient__username", flat=True)
    assert set(told) == reviewers | {"zhangsan"}
    assert "audience" not in Notification.objects.filter(event=event).first().params
    for bad in ({"department_id": "1", "role": "reviewer"}, {"department_id": market.pk}, "x"):
        stray = notify_event(names.TASK_ASSIGNED, f"task:bad:{bad}", audience=bad)
        assert not Notification.objects.filter(event=stray).exists()


def test_redelivery_gives_no_duplicate(notify_event, people):
    event = accepted(notify_event, people, recipients=("zhangsan", "lisi"))
    # The delivery is made pending again, as if the worker died after the handler ran.
    Delivery.objects.filter(event=event).update(status=DeliveryStatus.PENDING)
    assert events.deliver_due().done == 1
    services.notifications_from_event(event=event)
    assert Notification.objects.filter(event=event).count() == 2


def test_the_same_event_key_emitted_twice_notifies_once(notify_event, people):
    accepted(notify_event, people, key="accepted:same")
    accepted(notify_event, people, key="accepted:same")
    assert Notification.objects.count() == 1


# --- rendering -----------------------------------------------------------------------------------


def test_message_in_english(notify_event, people):
    accepted(notify_event, people)
    n = Notification.objects.get()
    with translation.override("en"):
        assert n.message == "Your application SFS-2025-000123 (企业设立登记) was accepted."


def test_message_in_simplified_chinese(notify_event, people):
    accepted(notify_event, people)
    n = Notification.objects.get()
    with translation.override("zh-hans"):
        assert n.message == "您的申请 SFS-2025-000123（企业设立登记）已受理。"


def test_the_text_is_rendered_when_read_in_the_readers_language(monkeypatch):
    """Stored parameters, not stored sentences: the same row reads in either language."""
    monkeypatch.setitem(messages.TEMPLATES, "application.accepted", gettext_lazy("Home"))
    with translation.override("zh-hans"):
        assert messages.render("application.accepted", {}) == "首页"
    with translation.override("en"):
        assert messages.render("application.accepted", {}) == "Home"


@pytest.mark.parametrize(
    "params",
    [
        {},
        None,
        [],
        {"number": None, "service_name": {"nested": 1}, "extra": "ignored"},
        {"number": "{service_name}", "service_name": "{0.__class__}"},
        {"number": "x" * 10_000},
    ],
)
def test_odd_parameters_never_break_rendering(params):
    with translation.override("en"):
        for kind in [*messages.TEMPLATES, "task.unknown_kind"]:
            text = messages.render(kind, params)
            assert isinstance(text, str)
            assert "{" not in text.replace("{service_name}", "").replace("{0.__class__}", "")
    with translation.override("en"):
        assert messages.render("application.rejected", {"number": "A"}) == (
            "Your application A was rejected"
        )
        assert messages.render("no.such.kind", {}) == "You have a new notification."


def test_due_dates_show_as_local_dates():
    with translation.override("en"):
        text = messages.render(
            "task.assigned",
            {"number": "A", "service_name": "S", "due_date": "2025-06-30T17:30:00+00:00"},
        )
        assert text == "New task: application A (S), due 2025-07-01."  # Beijing time
        assert messages.render("task.overdue", {"due_date": "2025-06-30"}).endswith("2025-06-30.")
        assert messages.render("task.overdue", {"due_date": "soon"}).endswith("due soon.")


def test_every_event_name_has_a_message():
    assert set(messages.TEMPLATES) == names.EVENT_NAMES


# --- selectors and services ------------------------------------------------------------------


def test_a_person_sees_only_their_own_unread_first(notify_event, people):
    for i in range(3):
        accepted(notify_event, people, key=f"a:{i}", recipients=("zhangsan",))
    accepted(notify_event, people, key="b", recipients=("lisi",))
    zhangsan = people["zhangsan"]
    mine = list(selectors.notifications_for(user=zhangsan))
    assert len(mine) == 3
    assert selectors.unread_count(user=zhangsan) == 3
    oldest = mine[-1]
    services.notification_mark_read(actor=zhangsan, notification_id=mine[0].pk)
    listed = list(selectors.notifications_for(user=zhangsan))
    assert listed[-1].pk == mine[0].pk  # read ones go last
    assert listed[1].pk == oldest.pk
    assert selectors.unread_count(user=zhangsan) == 2
    with pytest.raises(Notification.DoesNotExist):
        services.notification_mark_read(actor=people["lisi"], notification_id=mine[1].pk)
    assert services.notifications_mark_all_read(actor=zhangsan) == 2
    assert selectors.unread_count(user=zhangsan) == 0
    assert selectors.unread_count(user=people["lisi"]) == 1


# --- API ---------------------------------------------------------------------------------------


def bearer(client: Client, username: str) -> dict[str, str]:
    response = api_login(client, username, demo_account(username)["password"])
    assert response.status_code == 200, response.content
    return {"HTTP_AUTHORIZATION": f"Bearer {response.json()['access_token']}"}


def test_api_list_read_and_read_all(client, notify_event, people):
    for i in range(3):
        accepted(notify_event, people, key=f"a:{i}", recipients=("zhangsan", "lisi"))
    auth = bearer(client, "zhangsan")
    body = client.get("/api/v1/notifications", HTTP_ACCEPT_LANGUAGE="en", **auth).json()
    assert (body["total"], body["unread"], body["page"], body["pages"]) == (3, 3, 1, 1)
    first = body["items"][0]
    assert first["kind"] == "application.accepted"
    assert first["message"] == "Your application SFS-2025-000123 (企业设立登记) was accepted."
    assert first["link"] == "/services/x/"
    assert first["params"] == ACCEPTED
    assert first["unread"] is True

    read = client.post(f"/api/v1/notifications/{first['id']}/read", **auth)
    assert read.status_code == 200
    assert read.json()["read_at"] is not None
    again = client.post(f"/api/v1/notifications/{first['id']}/read", **auth)
    assert again.json()["read_at"] == read.json()["read_at"]  # reading twice changes nothing
    unread = client.get("/api/v1/notifications?unread=true", **auth).json()
    assert unread["total"] == 2
    assert first["id"] not in [n["id"] for n in unread["items"]]

    marked = client.post("/api/v1/notifications/read-all", **auth)
    assert marked.json() == {"marked": 2}
    assert client.get("/api/v1/notifications?unread=true", **auth).json()["total"] == 0
    # lisi's copies are untouched
    lisi = client.get("/api/v1/notifications", **bearer(client, "lisi")).json()
    assert lisi["unread"] == 3


def test_someone_elses_notification_is_not_found(client, notify_event, people):
    accepted(notify_event, people, recipients=("lisi",))
    theirs = Notification.objects.get()
    auth = bearer(client, "zhangsan")
    for notification_id in (theirs.pk, theirs.pk + 1000, 2**63 - 1):
        response = client.post(f"/api/v1/notifications/{notification_id}/read", **auth)
        assert response.status_code == 404
        assert response.json()["code"] == "NOT_FOUND"
        assert set(response.json()) == {"code", "message", "details", "request_id"}
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert client.post("/api/v1/notifications/99999999999999999999/read", **auth).status_code == 422


def test_the_api_needs_a_person(client):
    response = client.get("/api/v1/notifications")
    assert response.status_code == 401
    assert response.json()["code"] == "NOT_AUTHENTICATED"


# --- the page ----------------------------------------------------------------------------------


def test_the_page_redirects_anonymous_visitors_to_login(client, demo_city):
    response = client.get("/notifications/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/notifications/")
    assert client.post("/notifications/read-all").status_code == 302


def test_the_page_lists_my_messages_and_marks_them_read(client, notify_event, people):
    accepted(notify_event, people, key="a:1", recipients=("zhangsan",))
    accepted(notify_event, people, key="a:2", recipients=("lisi",), number="LISI-ONLY")
    assert page_login(client, "zhangsan", demo_account("zhangsan")["password"]).status_code == 302
    client.cookies["django_language"] = "en"
    page = client.get("/notifications/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Your application SFS-2025-000123 (企业设立登记) was accepted." in html
    assert "LISI-ONLY" not in html
    assert "Mark all as read" in html
    assert "<script" not in html
    assert "Messages (1" in html  # the header badge

    mine = Notification.objects.get(recipient=people["zhangsan"])
    opened = client.post(f"/notifications/{mine.pk}/read", {"open": "1"})
    assert opened.status_code == 302
    assert opened["Location"] == "/services/x/"
    mine.refresh_from_db()
    assert mine.read_at is not None

    accepted(notify_event, people, key="a:3", recipients=("zhangsan",))
    done = client.post("/notifications/read-all")
    assert done.status_code == 302
    assert done["Location"] == "/notifications/"
    assert selectors.unread_count(user=people["zhangsan"]) == 0
    theirs = Notification.objects.get(recipient=people["lisi"])
    assert client.post(f"/notifications/{theirs.pk}/read").status_code == 404
    assert client.post(f"/notifications/{2**64}/read").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_the_page_in_chinese_by_default(client, notify_event, people):
    page_login(client, "zhangsan", demo_account("zhangsan")["password"])
    page = client.get("/notifications/")
    assert page.status_code == 200
    assert '<html lang="zh-Hans"' in page.content.decode()
