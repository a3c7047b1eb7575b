"""Indexes for the contacts search (selectors.contacts_window), PostgreSQL only.

The database collation is not "C", so a plain b-tree cannot serve LIKE 'prefix%': the prefix
indexes use the pattern operator classes. Substring search uses pg_trgm GIN indexes on the
same upper-cased expression Django writes for `icontains` (UPPER("col"::text) LIKE UPPER(%s)).
SQLite (`make run`) keeps the plain scans: no extension, no index.
"""

from django.db import migrations

INDEXES = {
    # Search: external id exact or prefix, within a location (external_id__startswith).
    "contact_extid_prefix_idx": "(location_id, external_id varchar_pattern_ops)",
    # Search: email prefix, any case, within a location (email__istartswith).
    "contact_email_prefix_idx": "(location_id, (UPPER(email::text)) text_pattern_ops)",
    # Search: name fragment, any case (name__icontains, three characters or more).
    "contact_name_trgm_idx": "USING gin ((UPPER(name::text)) gin_trgm_ops)",
    # Search: email fragment, any case (email__icontains, three characters or more).
    "contact_email_trgm_idx": "USING gin ((UPPER(email::text)) gin_trgm_ops)",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, definition in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON entitlements_contact {definition}"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("entitlements", "0005_contact_balance_and_list_indexes")]

    operations = [migrations.RunPython(create, drop)]
