"""PostgreSQL: search rows kept whole in the table, and a small names vector to rank by.

Measured on a 10,000-item catalog (docs/performance.md, "Search on PostgreSQL"): each entry's
weighted document is 2-4 KB, so PostgreSQL compressed it out of line (TOAST). A common word
(社保 or its synonyms: a quarter of the catalog) then made the planner scan the table and
decompress every row's document to match it (48 ms), and ranking with ``ts_rank`` over the
whole document decompressed every match again (19 ms).

- ``toast_tuple_target = 8160`` and ``document`` stored ``MAIN``: a row stays in the table,
  uncompressed, unless it does not fit a page, so matching reads the row (and the planner's
  costs see its real size: it takes the GIN index for such words, 6 ms).
- ``names_document``: a generated vector of the names and keywords alone (a few hundred
  bytes), which ranking reads instead of the whole document.

Existing rows are rewritten once so that they follow the new storage. SQLite (FTS5) is
unchanged.
"""

from django.db import migrations

POSTGRES_FORWARD = [
    "ALTER TABLE catalog_searchentry SET (toast_tuple_target = 8160)",
    "ALTER TABLE catalog_searchentry ALTER COLUMN document SET STORAGE MAIN",
    """ALTER TABLE catalog_searchentry ADD COLUMN names_document tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', name_terms), 'A')) STORED""",
    # a new value for every row: the generated document is computed and stored anew
    "UPDATE catalog_searchentry SET name_terms = name_terms || ''",
]
POSTGRES_BACKWARD = [
    "ALTER TABLE catalog_searchentry DROP COLUMN IF EXISTS names_document",
    "ALTER TABLE catalog_searchentry ALTER COLUMN document SET STORAGE EXTENDED",
    "ALTER TABLE catalog_searchentry RESET (toast_tuple_target)",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_bundles")]

    operations = [migrations.RunPython(_run(POSTGRES_FORWARD), _run(POSTGRES_BACKWARD))]
