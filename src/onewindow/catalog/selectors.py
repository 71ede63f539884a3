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

PAGE_SIZE = 20


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
    versions = ServiceVersion.objects.filter(
        status=VersionStatus.PUBLISHED, item_id__in=ids
    ).select_related("item__department")
    by_item = {v.item_id: v for v in versions}
    items = []
    for pk in ids:
        version = by_item.get(pk)
        if version is not None:
            item = version.item
            item.published = [version]  # type: ignore[attr-defined]
            items.append(item)
    return items


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
