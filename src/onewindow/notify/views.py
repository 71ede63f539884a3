"""My messages page (站内消息), server-rendered, no JavaScript."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from onewindow.identity.access import CITIZEN, STAFF, page_access
from onewindow.notify import selectors, services
from onewindow.notify.models import Notification

MAX_ID = 2**63 - 1


def _page_number(request: HttpRequest) -> int:
    raw = request.GET.get("page", "1")
    return int(raw) if raw.isdigit() and len(raw) < 6 else 1


@page_access(CITIZEN, STAFF)
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("unread") == "1"
    result = selectors.notification_page(
        user=request.user, unread_only=unread_only, page=_page_number(request)
    )
    return render(
        request,
        "notify/inbox.html",
        {"result": result, "unread_only": unread_only},
    )


@page_access(CITIZEN, STAFF)
@require_POST
def read_all(request: HttpRequest) -> HttpResponse:
    marked = services.notifications_mark_all_read(actor=request.user)
    if marked:
        messages.success(request, _("All messages are marked as read."))
    return HttpResponseRedirect(reverse("notify:inbox"))


@page_access(CITIZEN, STAFF)
@require_POST
def read_one(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one message read, then open its link (or come back to the list)."""
    if pk > MAX_ID:
        raise Http404
    try:
        notification = services.notification_mark_read(actor=request.user, notification_id=pk)
    except Notification.DoesNotExist:
        raise Http404 from None
    if request.POST.get("open") == "1" and notification.link:
        return HttpResponseRedirect(notification.link)
    return HttpResponseRedirect(reverse("notify:inbox"))
