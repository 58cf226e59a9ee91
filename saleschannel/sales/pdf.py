"""Printable documents: invoices, packing slips and credit memos (DESIGN.md §3.4), drawn with ReportLab.

Each function takes any iterable of documents (a queryset from the order grid, a list, one document in a list) and
returns one PDF in which every document starts on a new page, in the language of its own order's store, so that
staff can print a whole selection at once.

Fonts: Bitstream Vera (shipped inside the reportlab package, so nothing has to be installed on the machine) covers
Western and Central European names. Characters it lacks are drawn with Adobe's standard Japanese CID font, which
every PDF reader provides (kana, kanji, Greek, Cyrillic); accented Latin letters that neither font has are written
without their accent rather than as an empty box.
"""

from __future__ import annotations

import functools
import io
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from xml.sax.saxutils import escape

import reportlab
from django.db.models import Prefetch, prefetch_related_objects
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from saleschannel.sales import emails
from saleschannel.sales.models import CreditMemo, CreditMemoItem, Invoice, InvoiceItem, Shipment, ShipmentItem

FONT = "SalesChannelSans"
FONT_BOLD = "SalesChannelSans-Bold"
FONT_FALLBACK = "HeiseiKakuGo-W5"

PAGE_SIZE = A4
MARGIN = 15 * mm
CONTENT_WIDTH = PAGE_SIZE[0] - 2 * MARGIN

GRID = colors.HexColor("#d6d6d6")
HEADER_BACKGROUND = colors.HexColor("#f1f1f1")


# --- Fonts and text -------------------------------------------------------------------------------------------


@functools.cache
def _font_coverage() -> frozenset[int]:
    """Register our fonts once per process; return the code points the main font can draw."""
    font_dir = Path(reportlab.__file__).parent / "fonts"
    regular = TTFont(FONT, str(font_dir / "Vera.ttf"))
    pdfmetrics.registerFont(regular)
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(font_dir / "VeraBd.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)
    pdfmetrics.registerFont(UnicodeCIDFont(FONT_FALLBACK))
    pdfmetrics.registerFontFamily(
        FONT_FALLBACK, normal=FONT_FALLBACK, bold=FONT_FALLBACK, italic=FONT_FALLBACK, boldItalic=FONT_FALLBACK
    )
    return frozenset(regular.face.charToGlyph)


def _drawable(char: str, coverage: frozenset[int]) -> tuple[str, bool]:
    """(text, needs_fallback_font) for one character."""
    if ord(char) in coverage or char == "\n":
        return char, False
    if unicodedata.category(char).startswith("C"):
        return "", False  # control and unassigned characters print nothing
    if unicodedata.name(char, "").startswith("LATIN"):
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if ord(c) in coverage)
        if base:
            return base, False
    return char, True


def markup(text: object) -> str:
    """Paragraph markup for untrusted text: escaped, with characters Vera lacks switched to the fallback font."""
    coverage = _font_coverage()
    parts: list[str] = []
    run: list[str] = []
    run_fallback = False
    for char in str(text):
        drawn, fallback = _drawable(char, coverage)
        if not drawn:
            continue
        if fallback != run_fallback and run:
            parts.append(_run_markup("".join(run), run_fallback))
            run = []
        run_fallback = fallback
        run.append(drawn)
    if run:
        parts.append(_run_markup("".join(run), run_fallback))
    return "".join(parts)


def _run_markup(text: str, fallback: bool) -> str:
    escaped = escape(text).replace("\n", "<br/>")
    return f'<font name="{FONT_FALLBACK}">{escaped}</font>' if fallback else escaped


def _styles() -> dict[str, ParagraphStyle]:
    _font_coverage()
    body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12)
    return {
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=8, leading=10, textColor=colors.HexColor("#555555")),
        "right": ParagraphStyle("right", parent=body, alignment=TA_RIGHT),
        "bold": ParagraphStyle("bold", parent=body, fontName=FONT_BOLD),
        "bold_right": ParagraphStyle("bold_right", parent=body, fontName=FONT_BOLD, alignment=TA_RIGHT),
        "store": ParagraphStyle("store", parent=body, fontName=FONT_BOLD, fontSize=16, leading=20),
        "title": ParagraphStyle("title", parent=body, fontName=FONT_BOLD, fontSize=12, leading=16, alignment=TA_RIGHT),
    }


def _p(text: object, style: ParagraphStyle) -> Paragraph:
    return Paragraph(markup(text), style)


def _lines(lines: Iterable[str], style: ParagraphStyle) -> Paragraph:
    return Paragraph("<br/>".join(markup(line) for line in lines) or "—", style)


# --- Blocks shared by the three documents ---------------------------------------------------------------------


def _header(document, title: str, date_label: str, styles) -> list:
    order = document.order
    details = [
        title,
        _("Order # %(number)s") % {"number": order.number},
        _("Order Date: %(date)s") % {"date": emails.local_date(order.created_at)},
        emails.labelled(date_label, emails.local_date(document.created_at)),
    ]
    title_cell = [_p(details[0], styles["title"]), _lines(details[1:], styles["right"])]
    table = Table(
        [[_p(order.store.name, styles["store"]), title_cell]],
        colWidths=[CONTENT_WIDTH * 0.4, CONTENT_WIDTH * 0.6],
    )
    table.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (0, 0), 0),
                    ("RIGHTPADDING", (-1, 0), (-1, 0), 0), ("LINEBELOW", (0, 0), (-1, 0), 1.5, colors.black),
                    ("BOTTOMPADDING", (0, 0), (-1, 0), 8)])
    )
    return [table, Spacer(1, 6 * mm)]


def _two_boxes(left_title: str, left_lines: list[str], right_title: str, right_lines: list[str], styles) -> list:
    table = Table(
        [
            [_p(left_title, styles["bold"]), _p(right_title, styles["bold"])],
            [_lines(left_lines, styles["body"]), _lines(right_lines, styles["body"])],
        ],
        colWidths=[CONTENT_WIDTH / 2, CONTENT_WIDTH / 2],
    )
    table.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BACKGROUND", (0, 0), (-1, 0), HEADER_BACKGROUND),
                    ("BOX", (0, 0), (0, -1), 0.5, GRID), ("BOX", (1, 0), (1, -1), 0.5, GRID)])
    )
    return [table, Spacer(1, 4 * mm)]


def _order_blocks(order, styles) -> list:
    billing, shipping = emails.order_addresses(order)
    return [
        *_two_boxes(
            _("Billing Address"), emails.address_lines(billing),
            _("Shipping Address"), emails.address_lines(shipping), styles,
        ),
        *_two_boxes(
            _("Payment Method"), emails.payment_lines(order),
            _("Shipping Method"), [order.shipping_method_title or order.shipping_method_code], styles,
        ),
    ]


def _item_table(headers: list[str], rows: list[list], widths: list[float], numeric_from: int, styles) -> list:
    """A table of items; columns from ``numeric_from`` on are right-aligned amounts and quantities."""
    header_cells = [
        _p(text, styles["bold_right"] if index >= numeric_from else styles["bold"])
        for index, text in enumerate(headers)
    ]
    scale = CONTENT_WIDTH / sum(widths)
    body_style = styles["body"]
    coverage = _font_coverage()
    # Room for plain text in each column (cells have 6 points of padding on each side).
    room = [w * scale - 12 for w in widths]
    cell_styles = [styles["right"] if index >= numeric_from else body_style for index in range(len(widths))]
    body = [
        [_plain_cell(value, coverage, room[index], body_style) or _p(value, cell_styles[index])
         for index, value in enumerate(row)]
        for row in rows
    ]
    style = TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BACKGROUND", (0, 0), (-1, 0), HEADER_BACKGROUND),
                        ("LINEBELOW", (0, 0), (-1, -1), 0.5, GRID),
                        # cells drawn as plain text (see _plain_cell): the paragraphs' font, size and leading
                        ("FONTNAME", (0, 0), (-1, -1), body_style.fontName),
                        ("FONTSIZE", (0, 0), (-1, -1), body_style.fontSize),
                        ("LEADING", (0, 0), (-1, -1), body_style.leading),
                        ("ALIGN", (numeric_from, 0), (-1, -1), "RIGHT")])

    def table(rows: list) -> Table:
        made = Table([header_cells, *rows], colWidths=[w * scale for w in widths], repeatRows=1)
        made.setStyle(style)
        return made

    return [_PagedRows(body, table), Spacer(1, 4 * mm)]


def _plain_cell(value: object, coverage: frozenset[int], room: float, style: ParagraphStyle) -> str | None:
    """``value`` as plain cell text when it fits on one line in the main font, else None (it needs a Paragraph:
    wrapping, or characters the main font lacks). Plain text costs a tenth of a Paragraph's layout, which matters
    on a 10,000-line document; it is drawn the same."""
    text = str(value)
    if "\n" in text or not all(ord(char) in coverage for char in text):
        return None
    if pdfmetrics.stringWidth(text, style.fontName, style.fontSize) > room:
        return None
    return text


class _PagedRows(Flowable):
    """The rows of a long table, laid out a page at a time, each page's part with the header row.

    A ReportLab ``Table`` split over pages measures every remaining row again for each page: a 10,000-line invoice
    took quadratic time. This measures at most ``rows_per_part`` rows per page.
    """

    rows_per_part = 50  # more than fit on an A4 page

    def __init__(self, rows: list, table) -> None:
        super().__init__()
        self.rows, self.table = rows, table
        self._part: Table | None = None

    def _first_part(self) -> Table:
        if self._part is None:
            self._part = self.table(self.rows[:self.rows_per_part])
        return self._part

    def wrap(self, available_width, available_height):
        width, height = self._first_part().wrap(available_width, available_height)
        if len(self.rows) > self.rows_per_part:
            height = max(height, available_height + 1)  # more rows follow: always split at the page's end
        return width, height

    def split(self, available_width, available_height):
        part = self._first_part()
        pieces = part.split(available_width, available_height)
        if not pieces:
            return []  # not even one row fits here: the next page
        first = pieces[0]
        shown = len(first._cellvalues) - 1  # without the header row
        if shown <= 0:
            return []
        return [first, _PagedRows(self.rows[shown:], self.table)] if shown < len(self.rows) else [first]

    def draw(self) -> None:  # only reached when every row fits
        self._first_part().drawOn(self.canv, 0, 0)


def _totals_table(lines: list[emails.TotalLine], styles) -> list:
    rows = [
        [_p(line.label, styles["bold_right" if line.is_grand else "right"]),
         _p(line.amount, styles["bold_right" if line.is_grand else "right"])]
        for line in lines
    ]
    table = Table(rows, colWidths=[CONTENT_WIDTH * 0.4, CONTENT_WIDTH * 0.2], hAlign="RIGHT")
    grand = [index for index, line in enumerate(lines) if line.is_grand]
    commands = [("LINEABOVE", (0, index), (-1, index), 1, colors.black) for index in grand]
    table.setStyle(TableStyle(commands))
    return [table]


# --- The documents --------------------------------------------------------------------------------------------


def _invoice_title(invoice: Invoice) -> str:
    return _("Invoice # %(number)s") % {"number": invoice.number}


def _packing_slip_title(shipment: Shipment) -> str:
    return _("Packing Slip # %(number)s") % {"number": shipment.number}


def _creditmemo_title(creditmemo: CreditMemo) -> str:
    return _("Credit Memo # %(number)s") % {"number": creditmemo.number}


def _invoice_story(invoice: Invoice, styles) -> list:
    lines = emails.invoice_item_lines(invoice)
    return [
        *_header(invoice, _invoice_title(invoice), _("Invoice Date"), styles),
        *_order_blocks(invoice.order, styles),
        *_item_table(
            [_("Products"), _("SKU"), _("Price"), _("Qty"), _("Tax"), _("Subtotal")],
            [[line.name, line.sku, line.price, line.qty, line.tax, line.row_total] for line in lines],
            [40, 18, 14, 8, 12, 16], 2, styles,
        ),
        *_totals_table(emails.document_totals(invoice), styles),
    ]


def _packing_slip_story(shipment: Shipment, styles) -> list:
    lines = emails.shipment_item_lines(shipment)
    story = [
        *_header(shipment, _packing_slip_title(shipment), _("Shipment Date"), styles),
        *_order_blocks(shipment.order, styles),
        *_item_table(
            [_("Qty"), _("Products"), _("SKU")],
            [[line.qty, line.name, line.sku] for line in lines],
            [10, 60, 30], 3, styles,
        ),
    ]
    tracks = list(shipment.tracks.all())
    if tracks:
        story += _item_table(
            [_("Carrier"), _("Tracking Number")],
            [[emails.carrier_title(track), track.number] for track in tracks],
            [40, 60], 2, styles,
        )
    return story


def _creditmemo_story(creditmemo: CreditMemo, styles) -> list:
    lines = emails.creditmemo_item_lines(creditmemo)
    story = [
        *_header(creditmemo, _creditmemo_title(creditmemo), _("Refund Date"), styles),
        *_order_blocks(creditmemo.order, styles),
    ]
    if lines:
        story += _item_table(
            [_("Products"), _("SKU"), _("Price"), _("Qty"), _("Tax"), _("Discount"), _("Subtotal")],
            [[line.name, line.sku, line.price, line.qty, line.tax, line.discount, line.row_total] for line in lines],
            [30, 15, 12, 7, 11, 13, 14], 2, styles,
        )
    return [*story, *_totals_table(emails.document_totals(creditmemo), styles)]


class _DocumentStart(Flowable):
    """Invisible mark at the start of each document: tells the canvas which document the following pages belong to."""

    def __init__(self, index: int, footer: str, page_of: str) -> None:
        super().__init__()
        self.mark = (index, footer, page_of)

    def wrap(self, available_width, available_height):
        return 0, 0

    def draw(self) -> None:
        self.canv.document_mark = self.mark


class _FooterCanvas(Canvas):
    """Holds the pages back until the end so that each footer can say "page 2 of 3" of its own document."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.document_mark: tuple[int, str, str] | None = None
        self._held_pages: list[dict] = []

    def showPage(self) -> None:  # noqa: N802 - ReportLab's name
        self._held_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        marks = [page["document_mark"] for page in self._held_pages]
        totals: dict[int, int] = {}
        for mark in marks:
            if mark is not None:
                totals[mark[0]] = totals.get(mark[0], 0) + 1
        seen: dict[int, int] = {}
        for page, mark in zip(self._held_pages, marks, strict=True):
            self.__dict__.update(page)
            if mark is not None:
                index, footer, page_of = mark
                seen[index] = seen.get(index, 0) + 1
                self.setFont(FONT, 7)
                self.setFillColor(colors.HexColor("#777777"))
                text = f"{footer} · {page_of % {'page': seen[index], 'pages': totals[index]}}"
                self.drawRightString(PAGE_SIZE[0] - MARGIN, MARGIN / 2, text)
            super().showPage()
        super().save()


def _render(documents: list, story_for, title_for, title: str) -> bytes:
    styles = _styles()
    story: list = []
    for index, document in enumerate(documents):
        if story:
            story.append(PageBreak())
        with emails.store_locale(document.order.store):
            story.append(_DocumentStart(index, title_for(document), _("Page %(page)d of %(pages)d")))
            story += story_for(document, styles)
    if not story:
        story = [_p(_("There is nothing to print."), styles["body"])]
    buffer = io.BytesIO()
    pdf = SimpleDocTemplate(
        buffer, pagesize=PAGE_SIZE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=MARGIN,
        title=title, creator="Sales Channel",
    )
    pdf.build(story, canvasmaker=_FooterCanvas)
    return buffer.getvalue()


_ORDER_RELATIONS = ("order__store", "order__payment", "order__addresses")


def _load(documents: Iterable, item_model, *extra) -> list:
    """The documents as a list with everything the pages show loaded in a fixed number of queries."""
    documents = list(documents)
    items = Prefetch("items", queryset=item_model.objects.select_related("order_item").order_by("order_item_id"))
    prefetch_related_objects(documents, *_ORDER_RELATIONS, items, *extra)
    return documents


def invoices_pdf(invoices: Iterable[Invoice]) -> bytes:
    return _render(_load(invoices, InvoiceItem), _invoice_story, _invoice_title, _("Invoices"))


def packing_slips_pdf(shipments: Iterable[Shipment]) -> bytes:
    return _render(
        _load(shipments, ShipmentItem, "tracks"), _packing_slip_story, _packing_slip_title, _("Packing Slips")
    )


def creditmemos_pdf(creditmemos: Iterable[CreditMemo]) -> bytes:
    return _render(_load(creditmemos, CreditMemoItem), _creditmemo_story, _creditmemo_title, _("Credit Memos"))
