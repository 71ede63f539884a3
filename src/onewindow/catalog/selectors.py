"""Reads of the catalog (public data)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from onewindow.catalog import search
from onewindow.catalog.models import (
    Audience,
    LifeEvent,
    ServiceItem,
    ServiceVersion,
    SynonymGroup,
    VersionStatus,
)
from onewindow.kit.compiled import CompiledRead
from onewindow.org.selectors import department_id_for, department_label

PAGE_SIZE = 20
# The large fields of a version, read only where the guide or the form is shown.
GUIDE_TEXT_FIELDS = (
    "acceptance_conditions",
    "location",
    "legal_basis",
    "process",
    "form_schema",
    "bundle",
)


def published_items() -> QuerySet[ServiceItem]:
    published = ServiceVersion.objects.filter(status=VersionStatus.PUBLISHED)
    return (
        ServiceItem.objects.filter(is_active=True, versions__status=VersionStatus.PUBLISHED)
        .select_related("department")
        .prefetch_related(Prefetch("versions", queryset=published, to_attr="published"))
    )


@dataclass(frozen=True)
class SearchPage:
    items: list[ServiceItem]
    total: int
    page: int
    pages: int
    query: str


def _synonym_groups() -> list[list[str]]:
    from django.core.cache import cache

    from onewindow.catalog.services import SYNONYMS_CACHE_KEY

    groups = cache.get(SYNONYMS_CACHE_KEY)
    if groups is None:
        groups = [list(g.terms) for g in SynonymGroup.objects.all()]
        cache.set(SYNONYMS_CACHE_KEY, groups, 60)
    return list(groups)


def service_search(
    *,
    q: str = "",
    audience: str = "",
    department: str = "",
    life_event: str = "",
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> SearchPage:
    """Find published services: by words (ranked), or browse by audience, department and
    life event (high-frequency first)."""
    page = max(1, page)
    filters = Q()
    sql = ""
    params: list[Any] = []
    if audience == Audience.NATURAL_PERSON:
        filters &= Q(serves_individuals=True)
        sql += " AND i.serves_individuals = %s"
        params.append(True)
    elif audience == Audience.LEGAL_PERSON:
        filters &= Q(serves_organisations=True)
        sql += " AND i.serves_organisations = %s"
        params.append(True)
    if department:
        filters &= Q(department__code=department)
        sql += " AND i.department_id = (SELECT id FROM org_department WHERE code = %s)"
        params.append(department)
    if life_event:
        filters &= Q(life_events__code=life_event)
        sql += (
            " AND i.id IN (SELECT serviceitem_id FROM catalog_serviceitem_life_events le "
            "JOIN catalog_lifeevent e ON e.id = le.lifeevent_id WHERE e.code = %s)"
        )
        params.append(life_event)
    parsed = search.parse_query(q, _synonym_groups()) if q.strip() else None
    if parsed:
        ids, total = search.ranked_item_ids(
            parsed,
            filter_sql=sql,
            filter_params=params,
            limit=page_size,
            offset=(page - 1) * page_size,
        )
    else:
        qs = (
            ServiceItem.objects.filter(filters, is_active=True, search__isnull=False)
            .distinct()
            .order_by("-high_frequency", "key")
        )
        total = qs.count()
        start = (page - 1) * page_size
        ids = list(qs.values_list("pk", flat=True)[start : start + page_size])
    items = _with_published_versions(ids)
    pages = max(1, -(-total // page_size))
    return SearchPage(items=items, total=total, page=page, pages=pages, query=q)


def _with_published_versions(ids: list[int]) -> list[ServiceItem]:
    """The items, in order, each with ``published`` = [its published version]: one query."""
    versions = (
        ServiceVersion.objects.filter(status=VersionStatus.PUBLISHED, item_id__in=ids)
        .select_related("item__department")
        # a results page shows handling type, limits, visits: not the guide text or the form
        .defer(*GUIDE_TEXT_FIELDS)
    )
    by_item = {v.item_id: v for v in versions}
    items = []
    for pk in ids:
        version = by_item.get(pk)
        if version is not None:
            item = version.item
            item.published = [version]  # type: ignore[attr-defined]
            items.append(item)
    return items


_item_read = CompiledRead(ServiceItem, lambda pk: ServiceItem.objects.filter(pk=pk))


def item_by_id(pk: int) -> ServiceItem | None:
    """An item by its id, published or not (what an application refers to)."""
    found = _item_read(pk)
    return found[0] if found else None


def service_get(*, key_or_code: str) -> ServiceItem | None:
    """A published item by its key or its implementation code (实施编码)."""
    return (
        published_items()
        .prefetch_related("life_events")
        .filter(Q(key=key_or_code) | Q(implementation_code=key_or_code))
        .first()
    )


def published_version_full(item: ServiceItem) -> ServiceVersion | None:
    return (
        ServiceVersion.objects.filter(item=item, status=VersionStatus.PUBLISHED)
        .prefetch_related("materials", "fees")
        .first()
    )


def high_frequency_items(*, limit: int = 12) -> list[ServiceItem]:
    return list(published_items().filter(high_frequency=True).order_by("key")[:limit])


def life_events(*, audience: str | None = None) -> QuerySet[LifeEvent]:
    qs = LifeEvent.objects.all()
    return qs.filter(audience=audience) if audience else qs


def bundles_published(*, life_event: str = "", audience: str = "") -> list[ServiceItem]:
    """Published life-event bundles (一件事), popular first, each with ``published`` =
    [its published version] and its life events; only those of ``life_event`` and for
    ``audience`` when given."""
    qs = published_items().filter(is_bundle=True).prefetch_related("life_events")
    if life_event:
        qs = qs.filter(life_events__code=life_event)
    if audience == Audience.NATURAL_PERSON:
        qs = qs.filter(serves_individuals=True)
    elif audience == Audience.LEGAL_PERSON:
        qs = qs.filter(serves_organisations=True)
    return list(qs.distinct().order_by("-high_frequency", "key"))


@dataclass(frozen=True)
class BundleMember:
    """One member item of a bundle as a page shows it: its position, the department that
    handles it, and the members it waits for (their names, in the bundle's order)."""

    position: int
    item: str
    name: str
    department: str
    department_name: str
    after: list[str]


def bundle_members(version: ServiceVersion) -> list[BundleMember]:
    """The members of a bundle's version, in order (empty for an ordinary service)."""
    members = list((version.bundle or {}).get("members") or [])
    names = {str(m.get("item")): str(m.get("name") or m.get("item")) for m in members}
    found = []
    for position, member in enumerate(members, start=1):
        code = str(member.get("department") or "")
        _code, department_name = department_label(department_id_for(code) or 0)
        found.append(
            BundleMember(
                position=position,
                item=str(member.get("item") or ""),
                name=names.get(str(member.get("item")), ""),
                department=code,
                department_name=department_name or code,
                after=[names.get(str(k), str(k)) for k in member.get("after") or []],
            )
        )
    return found


def bundle_has_prechecks(version: ServiceVersion) -> bool:
    return bool((version.bundle or {}).get("prechecks"))


@dataclass(frozen=True)
class BundleCard:
    """A bundle as its card on a life-event page shows it."""

    item: ServiceItem
    version: ServiceVersion
    members: list[BundleMember]
    has_prechecks: bool
    life_events: list[LifeEvent]


def bundle_cards(*, life_event: str = "", audience: str = "") -> list[BundleCard]:
    """The cards of the published bundles (of one life event, for one audience, when given),
    popular first."""
    cards = []
    for item in bundles_published(life_event=life_event, audience=audience):
        version = item.published[0]  # type: ignore[attr-defined]
        cards.append(
            BundleCard(
                item=item,
                version=version,
                members=bundle_members(version),
                has_prechecks=bundle_has_prechecks(version),
                life_events=list(item.life_events.all()),
            )
        )
    return cards
