"""PostgreSQL: a second generated tsvector of the names and keywords alone, to rank by.

Ranking with ``ts_rank`` over the whole document (names and guide text) detoasted and
decompressed every matching row's 2-4 KB vector: 19 ms of PostgreSQL CPU for a word that a
sixth of a 10,000-item catalog mentions (docs/performance.md, "Search on PostgreSQL"). The
names vector is a few hundred bytes and stays in the row; matching still uses the whole
document through its GIN index, which needs no detoasting. SQLite (FTS5) is unchanged.
"""

from django.db import migrations

POSTGRES_FORWARD = [
    """ALTER TABLE catalog_searchentry ADD COLUMN names_document tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', name_terms), 'A')) STORED""",
]
POSTGRES_BACKWARD = ["ALTER TABLE catalog_searchentry DROP COLUMN IF EXISTS names_document"]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_bundles")]

    operations = [migrations.RunPython(_run(POSTGRES_FORWARD), _run(POSTGRES_BACKWARD))]
