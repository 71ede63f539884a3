"""kit.compiled: a hot read compiled once gives what its queryset gives, on both databases."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext

from onewindow.kit.compiled import CompiledRead


@pytest.fixture
def groups(db):
    return [Group.objects.create(name=name) for name in ("审核员", "窗口", "科长", "审核员二")]


class Counted:
    """A queryset builder that counts how often it is asked (a kept compilation asks twice:
    the second time with other values, to prove where the values go)."""

    def __init__(self, build):
        self.build, self.calls = build, 0

    def __call__(self, *values):
        self.calls += 1
        return self.build(*values)


def test_later_calls_run_the_stored_sql_with_the_new_values(groups):
    build = Counted(lambda name, pk: Group.objects.filter(name=name, pk__gte=pk))
    read = CompiledRead(Group, build)
    assert read("审核员", groups[0].pk) == [groups[0]]  # compiled here
    with CaptureQueriesContext(connection) as queries:
        assert read("窗口", groups[0].pk) == [groups[1]]
        assert read("窗口", groups[2].pk) == []
        assert read("审核员二", 0) == [groups[3]]
    assert build.calls == 2  # one compilation, kept
    assert len(queries) == 3
    found = read("科长", groups[2].pk)
    assert all(type(g) is Group and g._state.db == "default" for g in found)
    assert [(g.pk, g.name) for g in found] == [(groups[2].pk, "科长")]


def test_a_value_the_query_transforms_is_never_cached(groups):
    # startswith compiles "审核" to the pattern "审核%": the value cannot be placed
    build = Counted(lambda prefix: Group.objects.filter(name__startswith=prefix))
    read = CompiledRead(Group, build)
    assert [g.name for g in read("审核")] == ["审核员", "审核员二"]
    assert [g.name for g in read("窗")] == ["窗口"]
    assert build.calls == 2


def test_order_and_constants_are_kept(groups):
    read = CompiledRead(
        Group,
        lambda pk: Group.objects.filter(pk__gte=pk, name__in=("科长", "窗口")).order_by("-name"),
    )
    expected = list(Group.objects.filter(name__in=("科长", "窗口")).order_by("-name"))
    assert read(groups[0].pk) == expected
    assert read(groups[0].pk) == expected  # from the stored SQL
    assert read(groups[2].pk) == [groups[2]]


def test_a_value_that_equals_a_constant_is_not_cached_and_stays_right(groups):
    build = Counted(lambda name: Group.objects.filter(name=name).exclude(name="窗口"))
    read = CompiledRead(Group, build)
    assert read("窗口") == []  # ambiguous: "窗口" is also the constant; compiled again next time
    assert read("科长") == [groups[2]]  # compiled and kept
    assert read("窗口") == []
    assert read("审核员") == [groups[0]]
    assert build.calls == 1 + 2


def test_values_must_be_int_or_str(groups):
    read = CompiledRead(Group, lambda pk: Group.objects.filter(pk=pk))
    with pytest.raises(TypeError):
        read(1.0)
    with pytest.raises(TypeError):
        read(None)


def test_querysets_raw_cannot_reproduce_are_refused(db):
    for model, build in (
        (Permission, lambda pk: Permission.objects.filter(pk=pk).select_related("content_type")),
        (Group, lambda pk: Group.objects.filter(pk=pk).prefetch_related("permissions")),
        (Group, lambda pk: Group.objects.filter(pk=pk).only("name")),
        (Group, lambda pk: Group.objects.filter(pk=pk).values("name")),
        (Group, lambda pk: Permission.objects.filter(pk=pk)),  # another model's rows
    ):
        with pytest.raises(ImproperlyConfigured):
            CompiledRead(model, build)(1)
    plain = CompiledRead(Permission, lambda pk: Permission.objects.filter(pk=pk))
    assert plain(0) == []  # the same read without select_related is accepted


def test_a_lookup_that_escapes_some_values_is_never_cached(groups):
    # On SQLite iexact is LIKE with the wildcards escaped: "窗口" compiles unchanged, "审_员"
    # does not; a stored statement would let "_" match any character there.
    build = Counted(lambda name: Group.objects.filter(name__iexact=name))
    read = CompiledRead(Group, build)
    assert read("窗口") == [groups[1]]
    assert read("审_员") == []
    assert read("审%") == []
    assert read("科长") == [groups[2]]


def test_other_values_a_field_refuses_leave_the_read_uncached(groups):
    def build(name):
        if "%" in name:  # as a field's own validation refusing a value would
            raise ValueError(name)
        return Group.objects.filter(name=name)

    counted = Counted(build)
    read = CompiledRead(Group, counted)
    assert read("窗口") == [groups[1]]
    assert read("科长") == [groups[2]]
    assert counted.calls == 4  # each call compiled and tried the other value: nothing kept


def test_a_transformed_value_equal_to_a_constant_is_not_misplaced(groups):
    # compiled params: ("审核%", "审核"); the value "审核" equals only the constant, which the
    # second compilation (other values) proves is not where the value goes
    build = Counted(
        lambda prefix: Group.objects.filter(name__startswith=prefix).exclude(name="审核")
    )
    read = CompiledRead(Group, build)
    assert [g.name for g in read("审核")] == ["审核员", "审核员二"]
    assert [g.name for g in read("窗")] == ["窗口"]
    assert build.calls >= 3  # never kept
