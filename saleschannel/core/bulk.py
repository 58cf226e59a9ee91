"""Insert many new rows of one model quickly: ``insert_new(objects)``, the batch importer's ``bulk_create``.

Django's ``bulk_create`` compiles every value of every row through the generic insert compiler (expression checks,
one placeholder built per value, ``get_db_prep_save`` per value). For the Amazon import, which writes about twenty
rows per order, that bookkeeping cost more than the database's own work. ``insert_new`` writes the same
``INSERT ... VALUES (...), (...) RETURNING id`` statements with the same values: strings, whole numbers and booleans
that the driver takes as they are go straight through, decimals take the backend's adapter directly, and every other
value still goes through its field's ``get_db_prep_save``. ``tests/test_bulk.py`` checks that both write identical
rows.

Only for new objects without a primary key, of concrete models without multi-table inheritance; anything else (or a
database that cannot return the new ids from a multi-row insert) falls back to ``bulk_create``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from functools import cache
from operator import attrgetter

from django.db import connections, models, router

# Django's own field classes only: a subclass may prepare its values differently, so it takes the generic path.
_TEXT = {models.CharField, models.TextField, models.SlugField, models.EmailField, models.URLField}
_INTEGER = {models.AutoField, models.BigAutoField, models.SmallAutoField, models.IntegerField, models.BigIntegerField,
            models.SmallIntegerField, models.PositiveIntegerField, models.PositiveBigIntegerField,
            models.PositiveSmallIntegerField}


def insert_new(objects: Sequence[models.Model]) -> None:
    """Insert ``objects`` (all of one model, none saved yet) and give each its new primary key."""
    if not objects:
        return
    model = type(objects[0])
    using = router.db_for_write(model)
    connection = connections[using]
    meta = model._meta
    if (meta.parents or len(meta.concrete_fields) < 2 or not connection.features.can_return_rows_from_bulk_insert
            or any(obj.pk is not None for obj in objects)):
        model._default_manager.bulk_create(objects)
        return
    plan = _plan(model, using)
    rows = [plan.row(obj, connection) for obj in objects]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in plan.fields)
    size = max(connection.ops.bulk_batch_size(plan.fields, objects), 1)
    row_marks = "(" + ", ".join(["%s"] * len(plan.fields)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            chunk = rows[start:start + size]
            cursor.execute(
                f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {', '.join([row_marks] * len(chunk))} "
                f"RETURNING {quote(meta.pk.column)}",
                [value for row in chunk for value in row],
            )
            returned = connection.ops.fetch_returned_insert_rows(cursor)
            for obj, (pk, *_rest) in zip(objects[start:start + size], returned, strict=True):
                obj.pk = meta.pk.to_python(pk)
                obj._state.adding = False
                obj._state.db = using


def link(obj: models.Model, field_name: str, related: models.Model) -> None:
    """Point ``obj``'s foreign key ``field_name`` at ``related``, saved or not yet.

    What assigning ``obj.<field_name> = related`` does, without the database-router checks the descriptor makes on
    every assignment (about a third of the cost of building a row on the import's hot path; this project has one
    database). ``insert_new`` and ``Model.save`` take ``related``'s id once it has one.
    """
    field = obj._meta.get_field(field_name)
    obj._state.fields_cache[field.cache_name] = related
    obj.__dict__[field.attname] = getattr(related, field.target_field.attname)


class _Plan:
    """How to turn a new object of one model into the values of its row, for one database."""

    def __init__(self, model: type[models.Model], connection) -> None:
        self.fields = [f for f in model._meta.concrete_fields
                       if not f.primary_key and not getattr(f, "generated", False)]
        # (field, its cache key, its column attribute, the attribute of the related object it stores)
        self.foreign_keys = [(f, f.cache_name, f.attname, f.target_field.attname)
                             for f in self.fields if f.is_relation]  # one-to-one too
        self.auto_dates = [f for f in self.fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
        self.values = attrgetter(*[f.attname for f in self.fields])
        # Per column, the types of the values the driver takes as they are (None: SQL NULL); others are converted.
        self.as_is = [_as_is_types(field, connection) for field in self.fields]

    def row(self, obj: models.Model, connection) -> list:
        fields_cache = obj._state.fields_cache
        for field, cache_name, attname, target in self.foreign_keys:
            related = fields_cache.get(cache_name)
            if related is not None and getattr(obj, attname) is None:
                # Saved after it was assigned (as Model.save does): take its new id.
                if related.pk is None:
                    raise ValueError(f"insert_new() prohibited to prevent data loss due to unsaved related object "
                                     f"'{field.name}'.")
                setattr(obj, attname, getattr(related, target))
        for field in self.auto_dates:
            field.pre_save(obj, add=True)
        row = list(self.values(obj)) if len(self.fields) > 1 else [self.values(obj)]
        as_is = self.as_is
        for index in [i for i, value in enumerate(row) if type(value) not in as_is[i]]:
            row[index] = self.fields[index].get_db_prep_save(row[index], connection=connection)
        return row


@cache
def _plan(model: type[models.Model], using: str) -> _Plan:
    return _Plan(model, connections[using])  # what it reads of the connection is the same in every thread


def _as_is_types(field: models.Field, connection) -> frozenset[type]:
    plain = _plain_type(field, connection)
    return frozenset() if plain is None else frozenset({plain, type(None)})


def _plain_type(field: models.Field, connection) -> type | None:
    """The Python type this database's driver stores as it is in this field's column, if there is one."""
    if field.is_relation and type(field) not in (models.ForeignKey, models.OneToOneField):
        return None
    kind = type(field.target_field if field.is_relation else field)
    if kind in _TEXT:
        return str
    if kind in _INTEGER:
        return int
    if kind is models.BooleanField:
        return bool
    if kind is models.DecimalField:
        probe = Decimal("1.50")
        adapted = connection.ops.adapt_decimalfield_value(probe, field.max_digits, field.decimal_places)
        return Decimal if type(adapted) is Decimal and adapted == probe else None
    return None
