"""Catalog pages: browse and search services, the printable guide (办事指南)."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from onewindow.catalog import selectors
from onewindow.catalog.models import Audience
from onewindow.identity.access import public_page
from onewindow.org.selectors import department_list


def _int(value: str | None, default: int) -> int:
    try:
        return max(1, min(int(value or default), 1000))
    except ValueError:
        return default


@public_page
@require_GET
def service_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:100]
    audience = request.GET.get("audience", "")
    department = request.GET.get("department", "")
    event = request.GET.get("event", "")
    result = selectors.service_search(
        q=q,
        audience=audience,
        department=department,
        life_event=event,
        page=_int(request.GET.get("page"), 1),
    )
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "catalog/service_list.html",
        {
            "result": result,
            "q": q,
            "audience": audience,
            "department": department,
            "event": event,
            "audiences": Audience.choices,
            "departments": department_list(),
            "life_events": selectors.life_events(),
            "query_string": params.urlencode(),
            "chosen_event": selectors.life_events().filter(code=event).first() if event else None,
            # A life event's bundles (一件事一次办) come first: one application for all of it.
            "bundles": selectors.bundle_cards(life_event=event, audience=audience) if event else [],
        },
    )


def _groups(fields: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The fields by ``group``, groups in the order they first appear (a bundle's merged form
    is grouped as the shared fields and each member item's); ungrouped fields make one group
    named ""."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for f in fields:
        groups.setdefault(str(f.get("group") or ""), []).append(f)
    return list(groups.items())


@public_page
@require_GET
def service_guide(request: HttpRequest, key: str) -> HttpResponse:
    item = selectors.service_get(key_or_code=key)
    version = selectors.published_version_full(item) if item else None
    if item is None or version is None:
        raise Http404
    fields = (version.form_schema or {}).get("fields", [])
    return render(
        request,
        "catalog/service_guide.html",
        {
            "item": item,
            "version": version,
            "materials": version.materials.all(),
            "fees": version.fees.all(),
            "fields": fields,
            "field_groups": _groups(fields),
            "members": selectors.bundle_members(version) if item.is_bundle else [],
            "prechecks": (version.bundle or {}).get("prechecks") or [] if item.is_bundle else [],
        },
    )
