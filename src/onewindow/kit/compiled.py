"""Hot reads compiled once per process (预编译查询).

Building a queryset (``filter``, ``order_by``) and compiling it to SQL costs Django 0.5-1.5 ms
of Python per read — several times what the database spends running it (bench/profile_read.py:
on the application status read, ``as_sql`` was about half the request). A read that runs on
every request with the same *shape* and only different values is declared once as a
:class:`CompiledRead`: the first call builds the queryset and compiles it as usual, later calls
run the stored SQL with the new values through ``Model.objects.raw`` (which applies each
field's database converters, so the instances are the ones the queryset gives).

Safety: the caller's values must be ``int`` or ``str`` and must each appear exactly once among
the compiled parameters; their positions are recorded at the first compilation and the
constants around them (an ``IN`` list of statuses, say) are kept. The queryset is then compiled
a second time with other values, and the SQL is kept only if it is the same text with the
parameters changed exactly at those positions. The other text values carry LIKE's wildcards,
its escape character and both letter cases, so a lookup that escapes or rewrites only some
values (``iexact`` on SQLite escapes the wildcards) shows it there. A value that cannot be
placed so (it equals a constant or another value, or the query transforms it, as
``startswith`` does), or a second compilation that fails (a field refusing the other value),
leaves that call answered by the queryset itself, uncached; the next call tries again. Only
plain model querysets qualify: no ``select_related``, ``prefetch_related``, ``values()``,
annotations or deferred fields (``raw`` would not give the same objects) — anything else is
refused when first compiled, so a test catches it.
The SQL is kept per database alias (SQLite and PostgreSQL compile differently).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable

M = TypeVar("M", bound=Model)
Value = int | str


class CompiledRead(Generic[M]):
    """``read = CompiledRead(Model, lambda a, b: Model.objects.filter(...))``; ``read(a, b)``
    returns the list the queryset would."""

    def __init__(self, model: type[M], build: Callable[..., QuerySet[M]]) -> None:
        self.model = model
        self.build = build
        # alias -> (sql, the compiled parameters, the position of each caller value)
        self._compiled: dict[str, tuple[str, tuple[object, ...], tuple[int, ...]]] = {}

    def __call__(self, *values: Value) -> list[M]:
        for value in values:
            if type(value) not in (int, str):
                raise TypeError(f"CompiledRead takes int or str values, not {type(value)!r}")
        alias = router.db_for_read(self.model)
        compiled = self._compiled.get(alias)
        if compiled is None:
            return self._compile(alias, values)
        sql, constants, positions = compiled
        params = list(constants)
        for position, value in zip(positions, values, strict=True):
            params[position] = value
        return list(self.model._default_manager.db_manager(alias).raw(sql, params))

    def _compile(self, alias: str, values: tuple[Value, ...]) -> list[M]:
        queryset = self.build(*values).using(alias)
        query = queryset.query
        if (
            queryset.model is not self.model
            or queryset._iterable_class is not ModelIterable
            or query.select_related
            or vars(queryset).get("_prefetch_related_lookups")
            or query.annotations
            or query.extra
            or query.deferred_loading != (frozenset(), True)
        ):
            raise ImproperlyConfigured(
                "CompiledRead needs a plain queryset of its model (no select_related, "
                "prefetch_related, values(), annotations, extra or deferred fields)"
            )
        sql, params = _sql(queryset, alias)
        positions = []
        for value in values:
            found = [i for i, p in enumerate(params) if type(p) is type(value) and p == value]
            if len(found) != 1:
                return list(queryset)  # cannot place this value unambiguously: not cached
            positions.append(found[0])
        # Proof by a second compilation with other values: the SQL must be the same and the
        # parameters must differ exactly at the recorded places, by exactly the new values
        # (a value the query transforms, e.g. startswith's "x%", never matches a constant).
        other = tuple(_other(value) for value in values)
        try:
            sql2, params2 = _sql(self.build(*other).using(alias), alias)
        except Exception:  # the other values are refused (a field's own validation): not cached
            return list(queryset)
        expected = list(params)
        for position, value in zip(positions, other, strict=True):
            expected[position] = value
        if sql2 == sql and list(params2) == expected and len(set(positions)) == len(positions):
            self._compiled[alias] = (sql, params, tuple(positions))
        return list(queryset)


def _sql(queryset: QuerySet[M], alias: str) -> tuple[str, tuple[object, ...]]:
    sql, params = queryset.query.get_compiler(connection=connections[alias]).as_sql()
    return sql, tuple(params)


def _other(value: Value) -> Value:
    # LIKE's wildcards and escape, both cases and an invisible separator: a lookup that
    # escapes or rewrites text changes this value and so is never cached
    return value + 1 if isinstance(value, int) else value + "%_\\Ab\u2063"
