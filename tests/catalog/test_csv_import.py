"""CSV import and export of products: the parser (shared by the command and the screen), bad input by line and
column with nothing written, --skip-bad, --dry-run, idempotent re-import, export → import round trip."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from saleschannel.catalog import csvfile, services
from saleschannel.catalog.csvfile import CsvFileError
from saleschannel.catalog.models import Product, ProductChange
from tests import factories

GOOD = "sku,name,price,qty,enabled,manage_stock,is_in_stock\nA-1,Alpha,19.99,5,1,1,1\nB-2,Beta,3,0,0,0,0\n"


def run(text: str | bytes, **options):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return services.product_import(file=io.BytesIO(data), name="t.csv", size=len(data), actor="test", **options)


def nothing_written():
    return not Product.objects.exists() and not ProductChange.objects.exists()


def errors_of(result):
    return [(error.line, error.column) for error in result.errors]


def test_creates_products(db, store):
    result = run(GOOD)
    assert (result.lines, result.created, result.updated, result.unchanged, result.written) == (2, 2, 0, 0, True)
    beta = Product.objects.get(sku="B-2")
    assert (beta.price, beta.qty, beta.enabled, beta.manage_stock, beta.is_in_stock) == (
        Decimal("3.00"), 0, False, False, False)
    assert ProductChange.objects.filter(action="created", source="CSV import t.csv", actor="test").count() == 2


def test_reimport_is_idempotent_and_updates_only_differences(db, store):
    run(GOOD)
    again = run(GOOD)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert ProductChange.objects.count() == 2
    changed = run("sku,price\nA-1,21.00\n".replace("sku,price", "sku,name,price").replace("A-1,", "A-1,Alpha,"))
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 0)
    alpha = Product.objects.get(sku="A-1")
    assert alpha.price == Decimal("21.00") and alpha.qty == 5  # qty column absent: kept
    assert ProductChange.objects.get(action="updated").changes == {"price": ["19.99", "21.00"]}


def test_empty_optional_cells_keep_values_or_take_defaults(db):
    run("sku,name,price,qty,enabled\nA-1,Alpha,1,,\n")
    alpha = Product.objects.get()
    assert (alpha.qty, alpha.enabled) == (0, True)
    Product.objects.filter(pk=alpha.pk).update(qty=9)
    assert run("sku,name,price,qty,enabled\nA-1,Alpha,1,,\n").unchanged == 1


def test_bom_semicolons_decimal_comma_and_header_case(db):
    data = "\ufeffSKU;Name;Price;Qty\nA-1;Élan « vert »;19,99;2\n".encode()
    result = run(data)
    assert result.created == 1
    product = Product.objects.get()
    assert (product.name, product.price) == ("Élan « vert »", Decimal("19.99"))


def test_quoted_values_and_blank_lines(db):
    run('sku,name,price\n\n"A,1","Mug ""XL"", blue",1.50\n\n')
    assert Product.objects.get().name == 'Mug "XL", blue'


# --- Bad input: errors by line and column, nothing written ------------------------------------------------------


def test_wrong_encoding_refused_with_line_and_column(db):
    data = "sku,name,price\nA-1,Alpha,1\nB-2,Caf\u00e9,2\n".encode("latin-1")
    with pytest.raises(CsvFileError) as refused:
        run(data)
    assert refused.value.line == 3
    assert "Line 3, character 8" in refused.value.message and "UTF-8" in refused.value.message
    assert nothing_written()


def test_utf16_refused(db):
    with pytest.raises(CsvFileError, match="UTF-16"):
        run("sku,name,price\nA-1,Alpha,1\n".encode("utf-16"))
    assert nothing_written()


@pytest.mark.parametrize(("text", "message"), [
    ("", "The file is empty"),
    ("\nsku,name,price\n", "The first line is empty"),
    ("sku,name\nA-1,Alpha\n", "Missing columns in the header row: price"),
    ("sku,name,price,quantity\nA-1,Alpha,1,2\n", "Unknown columns in the header row: quantity"),
    ("sku,name,price,name\nA-1,Alpha,1,B\n", "Columns named twice"),
    ("name,price\nAlpha,1\n", "Missing columns in the header row: sku"),
    ('sku,name,price\nA-1,"Al"pha,1\n', "Line 2: the CSV is malformed"),
    ("sku,name,price\nA-1,Al\x00pha,1\n", "NUL"),
])
def test_unreadable_files_refused(db, text, message):
    with pytest.raises(CsvFileError) as refused:
        run(text)
    assert message in refused.value.message
    assert nothing_written()


def test_file_over_50_mb_refused_before_reading(db):
    class Unreadable(io.BytesIO):
        def readline(self, *args):
            raise AssertionError("the file was read")

    with pytest.raises(CsvFileError, match="larger than 50 MB"):
        services.product_import(file=Unreadable(), size=csvfile.MAX_BYTES + 1)
    assert nothing_written()


def test_stream_over_50_mb_refused_while_reading(db, monkeypatch):
    monkeypatch.setattr(csvfile, "MAX_BYTES", 1000)
    data = ("sku,name,price\n" + "".join(f"S{i},Name {i},1\n" for i in range(200))).encode()
    with pytest.raises(CsvFileError, match="larger than 50 MB"):
        services.product_import(file=io.BytesIO(data))  # size unknown: counted as it is read
    assert nothing_written()


@pytest.mark.parametrize(("line", "column", "message"), [
    ("A-1,Alpha,-1,1", "price", "cannot be negative"),
    ("A-1,Alpha,1,-1", "qty", "cannot be negative"),
    ("A-1,Alpha,abc,1", "price", "is not a price"),
    ("A-1,Alpha,1,two", "qty", "not a quantity"),
    ("A-1,Alpha,1.999,1", "price", "at most 2 decimals"),
    ("A-1,Alpha,1e30,1", "price", "limited to"),
    ("A-1,Alpha,1,1e30", "qty", "not a quantity"),
    ("A-1,,1,1", "name", "Enter a product name"),
    (",Alpha,1,1", "sku", "Enter a SKU"),
    ("A-1,Alpha,,1", "price", "Enter a price"),
    ("A-1,Alpha,1,1,maybe", "enabled", "is not yes or no"),
    ("A-1,Alpha,1,1,1,9", "", "values; the header row names"),
])
def test_bad_values_reported_by_line_and_column(db, line, column, message):
    text = f"sku,name,price,qty,enabled\nOK-1,Fine,1,1,1\n{line}\n"
    result = run(text)
    assert not result.ok and not result.written
    assert errors_of(result) == [(3, column)]
    assert message in result.errors[0].message
    assert result.bad_lines == 1 and result.created == 1  # what the good line would do
    assert nothing_written()


def test_duplicate_skus_in_the_file(db):
    result = run("sku,name,price\nA-1,Alpha,1\nB-2,Beta,2\na-1,Again,3\n")
    assert errors_of(result) == [(2, "sku"), (4, "sku")]
    assert "given again on line 4" in result.errors[0].message
    assert "already given on line 2" in result.errors[1].message
    assert nothing_written()


def test_case_only_difference_with_an_existing_sku(db):
    factories.make_product(sku="A-1")
    result = run("sku,name,price\na-1,Alpha,1\n")
    assert errors_of(result) == [(2, "sku")] and 'use "A-1"' in result.errors[0].message
    assert Product.objects.count() == 1


def test_qty_below_reserved(db, order, products):
    result = run("sku,name,price,qty\nTSHIRT-RED,T-shirt rouge,19.99,1\n")
    assert errors_of(result) == [(2, "qty")] and "2 units are reserved" in result.errors[0].message
    assert Product.objects.get(sku="TSHIRT-RED").qty == 50


def test_skip_bad_imports_the_good_lines(db):
    result = run("sku,name,price\nA-1,Alpha,1\nB-2,Beta,-2\nC-3,Gamma,3\n", skip_bad=True)
    assert result.written and (result.created, result.bad_lines) == (2, 1)
    assert errors_of(result) == [(3, "price")]
    assert sorted(Product.objects.values_list("sku", flat=True)) == ["A-1", "C-3"]


def test_dry_run_writes_nothing(db):
    result = run(GOOD, dry_run=True)
    assert (result.created, result.written) == (2, False)
    assert nothing_written()
    run(GOOD)
    result = run(GOOD.replace("19.99", "20.00"), dry_run=True)
    assert result.updated == 1 and result.changes[0][2] == {"price": (Decimal("19.99"), Decimal("20.00"))}
    assert Product.objects.get(sku="A-1").price == Decimal("19.99")


def test_export_then_import_round_trip(db, store):
    factories.make_product(sku="=CMD", name='=HYPERLINK("x"), "quoted", comma', price="1.05", qty=7,
                           manage_stock=False, is_in_stock=False, enabled=False)
    factories.make_product(sku="MUG", name="Mug bleu é", price="8.50", qty=0)
    out = io.StringIO()
    assert services.product_export(out=out) == 2
    text = out.getvalue()
    assert text.splitlines()[0] == "sku,name,price,qty,enabled,manage_stock,is_in_stock"
    assert "'=CMD" in text  # a spreadsheet would not run it as a formula
    before = list(Product.objects.order_by("sku").values(*csvfile.COLUMNS))
    assert run(text).unchanged == 2
    Product.objects.all().delete()
    assert run(text).created == 2
    assert list(Product.objects.order_by("sku").values(*csvfile.COLUMNS)) == before


# --- The command ----------------------------------------------------------------------------------------------


def test_command_import_dry_run_skip_bad_and_export(db, tmp_path):
    path = tmp_path / "products.csv"
    path.write_text(GOOD, encoding="utf-8")
    out = io.StringIO()
    call_command("catalog", "import", str(path), "--dry-run", stdout=out)
    assert "Dry run" in out.getvalue() and "2 to create" in out.getvalue() and nothing_written()
    call_command("catalog", "import", str(path), stdout=out)
    assert Product.objects.count() == 2
    out = io.StringIO()
    call_command("catalog", "import", str(path), stdout=out)
    assert "0 created, 0 changed, 2 unchanged" in out.getvalue()

    bad = tmp_path / "bad.csv"
    bad.write_text("sku,name,price\nC-3,Gamma,3\nD-4,Delta,-4\n", encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("catalog", "import", str(bad), stdout=io.StringIO(), stderr=err)
    assert "line 3, column price: The price cannot be negative." in err.getvalue()
    assert not Product.objects.filter(sku="C-3").exists()
    call_command("catalog", "import", str(bad), "--skip-bad", stdout=io.StringIO(), stderr=io.StringIO())
    assert Product.objects.filter(sku="C-3").exists() and not Product.objects.filter(sku="D-4").exists()

    exported = tmp_path / "export.csv"
    call_command("catalog", "export", "--output", str(exported), stderr=io.StringIO())
    assert exported.read_text(encoding="utf-8").count("\n") == 4
    out = io.StringIO()
    call_command("catalog", "export", stdout=out)
    assert out.getvalue() == exported.read_text(encoding="utf-8")


def test_command_refuses_unreadable_files(db, tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("catalog", "import", str(tmp_path / "missing.csv"))
    latin = tmp_path / "latin.csv"
    latin.write_bytes("sku,name,price\nA,Café,1\n".encode("cp1252"))
    with pytest.raises(CommandError, match="not UTF-8 text"):
        call_command("catalog", "import", str(latin))
    assert nothing_written()


def test_command_progress_bar_on_a_terminal(db, tmp_path, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stages = []
    real = services.product_import

    def spy(**kwargs):
        progress = kwargs["progress"]
        assert progress is not None  # a terminal gets the bar

        def record(stage, done, total):
            stages.append(stage)
            progress(stage, done, total)

        return real(**{**kwargs, "progress": record})

    monkeypatch.setattr(services, "product_import", spy)
    monkeypatch.setattr(csvfile, "BATCH", 10)
    path = tmp_path / "many.csv"
    path.write_text("sku,name,price\n" + "".join(f"S{i},N{i},1\n" for i in range(45)), encoding="utf-8")
    out = Terminal()
    call_command("catalog", "import", str(path), stdout=out)
    assert "45 created" in out.getvalue() and Product.objects.count() == 45
    assert {"read", "parse", "write"} <= set(stages)
