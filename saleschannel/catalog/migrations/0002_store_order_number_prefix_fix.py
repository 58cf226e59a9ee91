"""Make every store's order-number prefix valid and unique before the constraint is added (issue 11, finding 8).

Deterministic, in two passes over the stores in id order:

1. A store whose prefix is already valid (1–8 of ``A``–``Z``, ``0``–``9``, ``-``) and not taken by a store with a
   smaller id keeps it.
2. Every other store gets a new prefix: its old one upper-cased, accents removed (``é`` → ``E``), other characters
   dropped, cut to 8 characters; an empty result becomes the store's id — exactly what numbering used for a store
   without a prefix, so its numbers go on unchanged. When that prefix is taken, ``-2``, ``-3``, … is appended (the
   base is shortened to stay within 8 characters) until it is free.

Existing orders, invoices, shipments and credit memos keep their numbers; only numbers allocated from now on use
the new prefix. Stores that changed are listed on the console while migrating.
"""

import re
import unicodedata

from django.db import migrations

VALID = re.compile(r"[A-Z0-9-]{1,8}")


def _normalised(store) -> str:
    text = unicodedata.normalize("NFKD", store.order_number_prefix or "").encode("ascii", "ignore").decode()
    text = re.sub(r"[^A-Z0-9-]", "", text.upper())[:8]
    return text or str(store.pk)[:8]


def _free(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    n = 2
    while True:
        suffix = f"-{n}"
        candidate = base[: 8 - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        n += 1


def fix_prefixes(apps, schema_editor):
    Store = apps.get_model("catalog", "Store")
    stores = list(Store.objects.order_by("pk"))
    taken: set[str] = set()
    to_fix = []
    for store in stores:
        prefix = store.order_number_prefix
        if VALID.fullmatch(prefix or "") and prefix not in taken:
            taken.add(prefix)
        else:
            to_fix.append(store)
    for store in to_fix:
        new = _free(_normalised(store), taken)
        taken.add(new)
        if new != store.order_number_prefix:
            print(f"\n  store {store.code!r}: order number prefix {store.order_number_prefix!r} -> {new!r}",
                  end="")
            store.order_number_prefix = new
            store.save(update_fields=["order_number_prefix"])


class Migration(migrations.Migration):

    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(fix_prefixes, migrations.RunPython.noop)]
