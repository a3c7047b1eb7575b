"""Re-encrypt every secret at rest under the newest of FIELD_ENCRYPTION_KEYS.

Rotation: put a new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it), deploy,
run this command, then drop the old keys. Encrypted columns are found by their name, which ends
in `_enc` in every app (kotally.lib.crypto), so a new one is rotated without touching this file.
"""

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from kotally.lib.crypto import InvalidToken, rotate


def encrypted_columns():
    """(model, [field names]) for every model with an encrypted column."""
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if f.name.endswith("_enc")]
        if names:
            yield model, names


class Command(BaseCommand):
    help = "Re-encrypt every encrypted column under the newest FIELD_ENCRYPTION_KEYS key."

    def handle(self, *args, **options):
        total = 0
        for model, names in encrypted_columns():
            for pk in model.objects.order_by("pk").values_list("pk", flat=True):
                # One row at a time, locked: a concurrent GHL token refresh (which locks the
                # same row) is never overwritten with the token it replaced.
                with transaction.atomic():
                    row = model.objects.select_for_update().filter(pk=pk).values(*names).first()
                    if row is None:
                        continue
                    try:
                        rotated = {name: rotate(value) for name, value in row.items()}
                    except InvalidToken:
                        raise CommandError(
                            f"{model._meta.label} {pk}: no key in FIELD_ENCRYPTION_KEYS reads it"
                        ) from None
                    model.objects.filter(pk=pk).update(**rotated)
                total += 1
            self.stdout.write(f"{model._meta.label}: {', '.join(names)}")
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {total} row(s)."))
