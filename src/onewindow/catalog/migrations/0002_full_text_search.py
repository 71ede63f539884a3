"""Full-text search structures, one per database (see catalog/search.py).

SQLite: an FTS5 table over catalog_searchentry (external content) kept in step by triggers.
PostgreSQL: a generated, weighted tsvector column (names 'A', guide text 'D') with a GIN index.
Both index the space-separated tokens that rjieba produced, so no database-side Chinese
parser is needed.
"""

from django.db import migrations

SQLITE_FORWARD = [
    """CREATE VIRTUAL TABLE catalog_search_fts USING fts5(
        name_terms, body_terms, content='catalog_searchentry', content_rowid='item_id',
        tokenize='unicode61 remove_diacritics 0')""",
    """CREATE TRIGGER catalog_searchentry_ai AFTER INSERT ON catalog_searchentry BEGIN
        INSERT INTO catalog_search_fts(rowid, name_terms, body_terms)
        VALUES (new.item_id, new.name_terms, new.body_terms); END""",
    """CREATE TRIGGER catalog_searchentry_ad AFTER DELETE ON catalog_searchentry BEGIN
        INSERT INTO catalog_search_fts(catalog_search_fts, rowid, name_terms, body_terms)
        VALUES ('delete', old.item_id, old.name_terms, old.body_terms); END""",
    """CREATE TRIGGER catalog_searchentry_au AFTER UPDATE ON catalog_searchentry BEGIN
        INSERT INTO catalog_search_fts(catalog_search_fts, rowid, name_terms, body_terms)
        VALUES ('delete', old.item_id, old.name_terms, old.body_terms);
        INSERT INTO catalog_search_fts(rowid, name_terms, body_terms)
        VALUES (new.item_id, new.name_terms, new.body_terms); END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS catalog_searchentry_au",
    "DROP TRIGGER IF EXISTS catalog_searchentry_ad",
    "DROP TRIGGER IF EXISTS catalog_searchentry_ai",
    "DROP TABLE IF EXISTS catalog_search_fts",
]
POSTGRES_FORWARD = [
    """ALTER TABLE catalog_searchentry ADD COLUMN document tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', name_terms), 'A') ||
        setweight(to_tsvector('simple', body_terms), 'D')) STORED""",
    "CREATE INDEX catalog_searchentry_document ON catalog_searchentry USING GIN (document)",
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS catalog_searchentry_document",
    "ALTER TABLE catalog_searchentry DROP COLUMN IF EXISTS document",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
        )
    ]
