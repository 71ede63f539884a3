"""Chinese full-text search over the catalog.

Text is segmented with rjieba (jieba's search mode, so 社保卡 also yields 社保) and stored in
``SearchEntry``; SQLite indexes it with FTS5, PostgreSQL with a weighted tsvector (migration
0002) and ranks on a second, small one of the names and keywords (migration 0004).
SQLite's trigram tokenizer would miss two-character words such as 社保 and 医保.

A query is segmented the same way. Each part must match (AND); a part that is, or contains, a
term of a synonym group matches any term of that group (营业执照 ~ 开公司 ~ 企业开办). Names and
keywords rank above guide text. If nothing matches every part, items matching any part are
returned instead, ranked the same way.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import rjieba
from django.db import connection

_TOKEN = re.compile(r"^[\w\u3400-\u9fff]+$")
STOPWORDS = frozenset(
    {
        "的",
        "和",
        "与",
        "及",
        "或",
        "了",
        "在",
        "我",
        "要",
        "想",
        "怎么",
        "如何",
        "办理",
        "申请",
        "办",
    }
)
MAX_QUERY_PARTS = 8


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def index_terms(texts: Iterable[str]) -> str:
    """Space-separated search-mode tokens of the texts (the stored form)."""
    tokens: list[str] = []
    for text in texts:
        for token in rjieba.cut_for_search(_normalise(text)):
            token = token.strip()
            if token and _TOKEN.match(token):
                tokens.append(token)
    return " ".join(tokens)


def _segment(text: str) -> list[str]:
    return [t for t in (x.strip() for x in rjieba.cut(_normalise(text))) if t and _TOKEN.match(t)]


Alternative = tuple[str, ...]  # tokens that must all appear
Part = tuple[Alternative, ...]  # any alternative may match


@dataclass(frozen=True)
class ParsedQuery:
    parts: tuple[Part, ...]

    def __bool__(self) -> bool:
        return bool(self.parts)


def parse_query(q: str, synonym_groups: Sequence[Sequence[str]]) -> ParsedQuery:
    """Split ``q`` into parts; expand synonym terms found in it (longest first)."""
    text = _normalise(q)[:100]
    by_term: dict[str, Sequence[str]] = {}
    for group in synonym_groups:
        for term in group:
            by_term[_normalise(term)] = group
    parts: list[Part] = []
    for term in sorted(by_term, key=len, reverse=True):
        if term and term in text:
            group = by_term[term]
            alternatives = tuple(dict.fromkeys(tuple(_segment(t)) for t in group if _segment(t)))
            parts.append(alternatives)
            text = text.replace(term, " ")
    for token in _segment(text):
        if token not in STOPWORDS:
            parts.append(((token,),))
    unique = tuple(dict.fromkeys(parts))[:MAX_QUERY_PARTS]
    return ParsedQuery(unique)


# --- SQL per database ------------------------------------------------------------------------

NAME_WEIGHT, BODY_WEIGHT = 10.0, 1.0


def _fts5(parsed: ParsedQuery, *, all_parts: bool) -> str:
    def alt(tokens: Alternative) -> str:
        quoted = [f'"{t}"' for t in tokens]
        return quoted[0] if len(quoted) == 1 else "(" + " AND ".join(quoted) + ")"

    groups = ["(" + " OR ".join(alt(a) for a in part) + ")" for part in parsed.parts]
    return (" AND " if all_parts else " OR ").join(groups)


def _tsquery(parsed: ParsedQuery, *, all_parts: bool) -> str:
    def alt(tokens: Alternative) -> str:
        return "(" + " & ".join(f"'{t}'" for t in tokens) + ")"

    groups = ["(" + " | ".join(alt(a) for a in part) + ")" for part in parsed.parts]
    return (" & " if all_parts else " | ").join(groups)


def ranked_item_ids(
    parsed: ParsedQuery,
    *,
    filter_sql: str,
    filter_params: list[Any],
    limit: int,
    offset: int,
    all_parts: bool = True,
) -> tuple[list[int], int]:
    """Item ids best first, and the total number of matches. ``filter_sql`` is an
    ``AND ...`` fragment over ``i`` (catalog_serviceitem) with ``%s`` placeholders; without
    one, the index alone ranks and pages (every indexed item is published and active).

    PostgreSQL: one statement finds, ranks and counts (``count(*) OVER ()``; only a page past
    the last match needs a second one for the total). It matches on the whole document through
    its GIN index and ranks on the names-and-keywords vector (migration 0004): items that name
    the words come first by ``ts_rank``, then those whose guide text alone mentions them, by
    id. The rank takes the words joined by OR: ``ts_rank`` of an AND query scores a vector
    that holds only one of its words as if it held none, and an item naming one word while its
    guide text has the other must still rank above items that name neither.
    SQLite ranks with FTS5's bm25, names weighted ``NAME_WEIGHT`` to the guide text's 1."""
    if connection.vendor == "postgresql":
        source = (
            "catalog_searchentry e CROSS JOIN to_tsquery('simple', %s) q"
            " CROSS JOIN to_tsquery('simple', %s) r"
        )
        source_params = [_tsquery(parsed, all_parts=all_parts), _tsquery(parsed, all_parts=False)]
        where = "e.document @@ q"
        score = "ts_rank(e.names_document, r)"
        item_id = "e.item_id"
    else:
        source = "catalog_search_fts"
        source_params = [_fts5(parsed, all_parts=all_parts)]
        where = "catalog_search_fts MATCH %s"
        score = f"-bm25(catalog_search_fts, {NAME_WEIGHT}, {BODY_WEIGHT})"
        item_id = "catalog_search_fts.rowid"
    if filter_sql:
        source += f" JOIN catalog_serviceitem i ON i.id = {item_id}"
    base = f"FROM {source} WHERE {where} {filter_sql}"
    params = [*source_params, *filter_params]
    ranked = f"ORDER BY score DESC, {item_id} LIMIT %s OFFSET %s"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT {item_id}, {score} AS score, count(*) OVER () {base} {ranked}",
                [*params, limit, offset],
            )
            rows = cursor.fetchall()
            if rows:
                return [int(row[0]) for row in rows], int(rows[0][2])
            total = 0
            if offset:  # past the last page: how many there are
                cursor.execute(f"SELECT COUNT(*) {base}", params)
                total = int(cursor.fetchone()[0])
        else:
            # FTS5's bm25() cannot run beside a window function: count, then rank the page.
            cursor.execute(f"SELECT COUNT(*) {base}", params)
            total = int(cursor.fetchone()[0])
            if total and offset < total:
                cursor.execute(
                    f"SELECT {item_id}, {score} AS score {base} {ranked}",
                    [*params, limit, offset],
                )
                return [int(row[0]) for row in cursor.fetchall()], total
    if not total and all_parts and len(parsed.parts) > 1:
        return ranked_item_ids(
            parsed,
            filter_sql=filter_sql,
            filter_params=filter_params,
            limit=limit,
            offset=offset,
            all_parts=False,
        )
    return [], total
