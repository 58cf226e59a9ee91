"""Reports 2021-06-30 as the gateway reads them: a report's status (``AmazonReport``) and its document's text.

The operations (createReport, getReport, getReportDocument) are the gateway's (``Gateway.create_report`` ...).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from datetime import datetime

from saleschannel.amazon.spapi.errors import AmazonError
from saleschannel.amazon.spapi.normalise import parse_datetime

REPORT_FINAL_STATUSES = ("DONE", "CANCELLED", "FATAL")
# Charset names Amazon uses that Python spells differently (Java names).
_CHARSET_ALIASES = {"windows-31j": "cp932", "ms932": "cp932", "x-sjis": "shift_jis", "sjis": "shift_jis",
                    "x-euc-jp": "euc_jp"}


@dataclass
class AmazonReport:
    report_id: str
    report_type: str
    status: str  # IN_QUEUE, IN_PROGRESS, DONE, CANCELLED (explicitly, or because there was no data), FATAL
    marketplace_ids: list[str] = field(default_factory=list)
    document_id: str = ""  # set when DONE (and for some FATAL reports: the error document)
    created: datetime | None = None
    processing_ended: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in REPORT_FINAL_STATUSES

    @classmethod
    def from_json(cls, body: dict, report_id: str = "") -> AmazonReport:
        return cls(report_id=str(body.get("reportId") or report_id), report_type=str(body.get("reportType") or ""),
                   status=str(body.get("processingStatus") or ""),
                   marketplace_ids=[str(m) for m in body.get("marketplaceIds") or []],
                   document_id=str(body.get("reportDocumentId") or ""),
                   created=parse_datetime(body.get("createdTime")),
                   processing_ended=parse_datetime(body.get("processingEndTime")))


def report_charset(content_type: str) -> str:
    """The ``charset`` parameter of a Content-Type (``text/plain;charset=Cp1252`` → ``Cp1252``), or ""."""
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"')
    return ""


def report_text(content: bytes, content_type: str) -> str:
    """Decode a report document with the charset its Content-Type names. Without one: UTF-8 when the bytes are
    valid UTF-8, else Cp1252 (Amazon's default outside Japan). Shift_JIS documents are read as Windows-31J (its
    superset, which Japanese Windows-made data uses). A byte-order mark is dropped."""
    charset = report_charset(content_type)
    if not charset:
        try:
            return content.decode("utf-8-sig")
        except UnicodeDecodeError:
            charset = "cp1252"
    codec = _CHARSET_ALIASES.get(charset.lower(), charset)
    try:
        name = codecs.lookup(codec).name
    except LookupError:
        raise AmazonError(f"Amazon's report uses an unknown charset {charset!r}.", "Malformed", None, False)
    if name == "shift_jis":
        name = "cp932"
    elif name == "utf-8":
        name = "utf-8-sig"
    try:
        return content.decode(name)
    except UnicodeDecodeError as exc:
        raise AmazonError(f"Amazon's report is not valid {charset} (byte {exc.start}).", "Malformed", None, False)
