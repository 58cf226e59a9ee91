"""The sandbox's own storage: one SQLite file in its data folder (WAL, one connection per thread).

Orders are JSON documents with indexed columns for what searches filter on. Every write goes through
``Store.write()``: one process-wide lock and one short transaction, so SQLite never reports "database is locked".
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import catalog

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY,
    seller_id TEXT NOT NULL,
    marketplace_id TEXT NOT NULL,
    status TEXT NOT NULL,
    channel TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    due_ms INTEGER,
    buyer_email TEXT,
    seller_order_id TEXT,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_updated ON orders (seller_id, updated_ms, order_id);
CREATE INDEX IF NOT EXISTS orders_created ON orders (seller_id, created_ms, order_id);
CREATE INDEX IF NOT EXISTS orders_due ON orders (due_ms) WHERE due_ms IS NOT NULL;
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY, kind TEXT NOT NULL, seller_id TEXT, expires_ms INTEGER NOT NULL, scope TEXT
);
CREATE TABLE IF NOT EXISTS documents (
    document_id TEXT PRIMARY KEY, seller_id TEXT NOT NULL, kind TEXT NOT NULL, content_type TEXT,
    content BLOB, compression TEXT, created_ms INTEGER NOT NULL, uploaded_ms INTEGER
);
CREATE TABLE IF NOT EXISTS feeds (
    feed_id TEXT PRIMARY KEY, seller_id TEXT NOT NULL, feed_type TEXT NOT NULL, marketplace_ids TEXT NOT NULL,
    input_document_id TEXT NOT NULL, status TEXT NOT NULL, created_ms INTEGER NOT NULL, started_ms INTEGER,
    ended_ms INTEGER, result_document_id TEXT
);
CREATE INDEX IF NOT EXISTS feeds_status ON feeds (status);
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at_ms INTEGER NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL,
    query TEXT NOT NULL, body TEXT NOT NULL, status INTEGER NOT NULL, operation TEXT, request_id TEXT,
    fault TEXT
);
CREATE INDEX IF NOT EXISTS requests_operation ON requests (operation, id);
CREATE TABLE IF NOT EXISTS reports (
    report_id TEXT PRIMARY KEY, seller_id TEXT NOT NULL, report_type TEXT NOT NULL, marketplace_ids TEXT NOT NULL,
    options TEXT NOT NULL, data_start_ms INTEGER, data_end_ms INTEGER, status TEXT NOT NULL,
    created_ms INTEGER NOT NULL, started_ms INTEGER, ended_ms INTEGER, document_id TEXT, fate TEXT
);
CREATE INDEX IF NOT EXISTS reports_status ON reports (status);
CREATE TABLE IF NOT EXISTS listings (
    seller_id TEXT NOT NULL, marketplace_id TEXT NOT NULL, sku TEXT NOT NULL, position INTEGER NOT NULL,
    doc TEXT NOT NULL, PRIMARY KEY (seller_id, marketplace_id, sku)
);
"""

ORDER_COLUMNS = "order_id, seller_id, marketplace_id, status, channel, created_ms, updated_ms, due_ms, " \
                "buyer_email, seller_order_id, doc"


def order_row(doc: dict[str, Any]) -> tuple:
    return (doc["orderId"], doc["sellerId"], doc["marketplaceId"], doc["status"], doc["channel"], doc["createdMs"],
            doc["lastUpdatedMs"], doc.get("pendingUntilMs"), doc["buyer"]["email"], doc.get("sellerOrderId"),
            json.dumps(doc, ensure_ascii=False, separators=(",", ":")))


class Store:
    # Set by the notifier (notifications.py) while a subscription exists: called with (the order before or None,
    # the order after) inside the transaction of every order insert or update.
    order_listener = None

    def __init__(self, data_dir: str | Path):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / "sandbox.sqlite3"
        self._local = threading.local()
        self._lock = threading.RLock()
        with self._lock:
            self.db().executescript(SCHEMA)

    # ---- connections ---------------------------------------------------------------------------------------
    def db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self.db()
            if conn.in_transaction:  # nested: the outer block commits
                yield conn
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    # ---- meta --------------------------------------------------------------------------------------------------
    def meta(self, key: str, default: Any = None) -> Any:
        row = self.db().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_meta(self, key: str, value: Any) -> None:
        with self.write() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def credentials(self) -> dict[str, Any]:
        """The sandbox seller and its LWA app, made once and kept."""
        with self.write():
            creds = self.meta("credentials")
            if creds is None:
                creds = {
                    "seller_id": "A1SANDBOX" + secrets.token_hex(3).upper(),
                    "client_id": "amzn1.application-oa2-client." + secrets.token_hex(16),
                    "client_secret": "amzn1.oa2-cs.v1." + secrets.token_hex(32),
                    "refresh_token": "Atzr|" + secrets.token_urlsafe(96),
                    "marketplace_ids": [m.marketplace_id for m in catalog.MARKETPLACES.values()],
                    "signing_key": secrets.token_hex(32),
                }
                self.set_meta("credentials", creds)
            return creds

    # ---- orders ------------------------------------------------------------------------------------------------
    def insert_orders(self, docs: list[dict[str, Any]]) -> list[str]:
        """Insert new orders; returns the ids that were already taken (nothing inserted for those)."""
        taken = []
        with self.write() as db:
            for chunk_start in range(0, len(docs), 500):
                chunk = docs[chunk_start:chunk_start + 500]
                ids = [d["orderId"] for d in chunk]
                marks = ",".join("?" * len(ids))
                existing = {r[0] for r in db.execute(f"SELECT order_id FROM orders WHERE order_id IN ({marks})", ids)}
                taken.extend(existing)
                db.executemany(f"INSERT INTO orders ({ORDER_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                               [order_row(d) for d in chunk if d["orderId"] not in existing])
                if self.order_listener is not None:
                    for doc in chunk:
                        if doc["orderId"] not in existing:
                            self.order_listener(None, doc)
        return taken

    def order(self, order_id: str, seller_id: str | None = None) -> dict[str, Any] | None:
        sql = "SELECT doc FROM orders WHERE order_id = ?"
        args: list[Any] = [order_id]
        if seller_id:
            sql += " AND seller_id = ?"
            args.append(seller_id)
        row = self.db().execute(sql, args).fetchone()
        return json.loads(row[0]) if row else None

    def save_order(self, doc: dict[str, Any]) -> None:
        row = order_row(doc)
        with self.write() as db:
            listener = self.order_listener
            before = None
            if listener is not None:
                found = db.execute("SELECT doc FROM orders WHERE order_id = ?", (doc["orderId"],)).fetchone()
                before = json.loads(found[0]) if found else None
            db.execute("UPDATE orders SET seller_id=?, marketplace_id=?, status=?, channel=?, created_ms=?, "
                       "updated_ms=?, due_ms=?, buyer_email=?, seller_order_id=?, doc=? WHERE order_id=?",
                       row[1:] + row[:1])
            if listener is not None:
                listener(before, doc)

    def due_order_ids(self, now: int) -> list[str]:
        return [r[0] for r in self.db().execute(
            "SELECT order_id FROM orders WHERE due_ms IS NOT NULL AND due_ms <= ?", (now,))]

    def search_orders(self, *, seller_id: str, time_column: str, after: int, before: int, statuses: list[str] | None,
                      marketplace_ids: list[str] | None, channels: list[str] | None, limit: int,
                      cursor: tuple[int, str] | None, buyer_email: str | None = None,
                      seller_order_id: str | None = None, order_ids: list[str] | None = None,
                      ) -> list[dict[str, Any]]:
        assert time_column in ("updated_ms", "created_ms")
        where = ["seller_id = ?", f"{time_column} >= ?", f"{time_column} <= ?"]
        args: list[Any] = [seller_id, after, before]
        for column, values in (("status", statuses), ("marketplace_id", marketplace_ids), ("channel", channels),
                               ("order_id", order_ids)):
            if values:
                where.append(f"{column} IN ({','.join('?' * len(values))})")
                args.extend(values)
        if buyer_email:
            where.append("buyer_email = ?")
            args.append(buyer_email)
        if seller_order_id:
            where.append("seller_order_id = ?")
            args.append(seller_order_id)
        if cursor:
            where.append(f"({time_column} > ? OR ({time_column} = ? AND order_id > ?))")
            args.extend([cursor[0], cursor[0], cursor[1]])
        sql = (f"SELECT doc FROM orders WHERE {' AND '.join(where)} ORDER BY {time_column}, order_id LIMIT ?")
        args.append(limit)
        return [json.loads(r[0]) for r in self.db().execute(sql, args)]

    def order_ids(self, limit: int = 1000) -> list[str]:
        return [r[0] for r in self.db().execute("SELECT order_id FROM orders ORDER BY created_ms, order_id LIMIT ?",
                                                (limit,))]

    def count_orders(self) -> int:
        return self.db().execute("SELECT COUNT(*) FROM orders").fetchone()[0]

    # ---- tokens ------------------------------------------------------------------------------------------------
    def add_token(self, token: str, *, kind: str, seller_id: str | None, expires_ms: int, scope: Any = None) -> None:
        with self.write() as db:
            db.execute("INSERT INTO tokens (token, kind, seller_id, expires_ms, scope) VALUES (?,?,?,?,?)",
                       (token, kind, seller_id, expires_ms, json.dumps(scope)))

    def token(self, token: str) -> dict[str, Any] | None:
        row = self.db().execute("SELECT kind, seller_id, expires_ms, scope FROM tokens WHERE token = ?",
                                (token,)).fetchone()
        if not row:
            return None
        return {"kind": row[0], "seller_id": row[1], "expires_ms": row[2], "scope": json.loads(row[3])}

    def purge_tokens(self, now: int) -> None:
        with self.write() as db:
            db.execute("DELETE FROM tokens WHERE expires_ms < ?", (now - 86_400_000,))

    # ---- documents and feeds -----------------------------------------------------------------------------------
    def add_document(self, document_id: str, *, seller_id: str, kind: str, content_type: str, now: int,
                     content: bytes | None = None, compression: str | None = None) -> None:
        with self.write() as db:
            db.execute("INSERT INTO documents (document_id, seller_id, kind, content_type, content, compression, "
                       "created_ms, uploaded_ms) VALUES (?,?,?,?,?,?,?,?)",
                       (document_id, seller_id, kind, content_type, content, compression, now,
                        now if content is not None else None))

    def document(self, document_id: str) -> dict[str, Any] | None:
        row = self.db().execute("SELECT document_id, seller_id, kind, content_type, content, compression, created_ms, "
                                "uploaded_ms FROM documents WHERE document_id = ?", (document_id,)).fetchone()
        if not row:
            return None
        keys = ("document_id", "seller_id", "kind", "content_type", "content", "compression", "created_ms",
                "uploaded_ms")
        return dict(zip(keys, row, strict=True))

    def upload_document(self, document_id: str, content: bytes, now: int) -> None:
        with self.write() as db:
            db.execute("UPDATE documents SET content = ?, uploaded_ms = ? WHERE document_id = ?",
                       (content, now, document_id))

    FEED_KEYS = ("feed_id", "seller_id", "feed_type", "marketplace_ids", "input_document_id", "status", "created_ms",
                 "started_ms", "ended_ms", "result_document_id")

    def _feed(self, row) -> dict[str, Any]:
        feed = dict(zip(self.FEED_KEYS, row, strict=True))
        feed["marketplace_ids"] = json.loads(feed["marketplace_ids"])
        return feed

    def add_feed(self, feed: dict[str, Any]) -> None:
        with self.write() as db:
            db.execute(f"INSERT INTO feeds ({', '.join(self.FEED_KEYS)}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                       tuple(json.dumps(feed[k]) if k == "marketplace_ids" else feed.get(k) for k in self.FEED_KEYS))

    def feed(self, feed_id: str) -> dict[str, Any] | None:
        row = self.db().execute(f"SELECT {', '.join(self.FEED_KEYS)} FROM feeds WHERE feed_id = ?",
                                (feed_id,)).fetchone()
        return self._feed(row) if row else None

    def feeds(self, *, seller_id: str | None = None, statuses: list[str] | None = None) -> list[dict[str, Any]]:
        rows = self._newest_first("feeds", self.FEED_KEYS, "feed_id", seller_id=seller_id, statuses=statuses)
        return [self._feed(r) for r in rows]

    def _newest_first(self, table: str, keys: tuple[str, ...], id_column: str, *, seller_id: str | None,
                      statuses: list[str] | None) -> list[tuple]:
        """Rows of a documents table (feeds, reports), newest first, optionally of one seller and some statuses."""
        sql = f"SELECT {', '.join(keys)} FROM {table} WHERE 1=1"
        args: list[Any] = []
        if seller_id:
            sql += " AND seller_id = ?"
            args.append(seller_id)
        if statuses:
            sql += f" AND status IN ({','.join('?' * len(statuses))})"
            args.extend(statuses)
        return self.db().execute(f"{sql} ORDER BY created_ms DESC, {id_column} DESC", args).fetchall()

    def update_feed(self, feed_id: str, **values: Any) -> None:
        with self.write() as db:
            db.execute(f"UPDATE feeds SET {', '.join(f'{k} = ?' for k in values)} WHERE feed_id = ?",
                       (*values.values(), feed_id))

    # ---- reports and listings (reports.py) ---------------------------------------------------------------------
    REPORT_KEYS = ("report_id", "seller_id", "report_type", "marketplace_ids", "options", "data_start_ms",
                   "data_end_ms", "status", "created_ms", "started_ms", "ended_ms", "document_id", "fate")

    def _report(self, row) -> dict[str, Any]:
        report = dict(zip(self.REPORT_KEYS, row, strict=True))
        report["marketplace_ids"] = json.loads(report["marketplace_ids"])
        report["options"] = json.loads(report["options"])
        return report

    def add_report(self, report: dict[str, Any]) -> None:
        with self.write() as db:
            db.execute(f"INSERT INTO reports ({', '.join(self.REPORT_KEYS)}) VALUES ({','.join('?' * 13)})",
                       tuple(json.dumps(report[k]) if k in ("marketplace_ids", "options") else report.get(k)
                             for k in self.REPORT_KEYS))

    def report(self, report_id: str) -> dict[str, Any] | None:
        row = self.db().execute(f"SELECT {', '.join(self.REPORT_KEYS)} FROM reports WHERE report_id = ?",
                                (report_id,)).fetchone()
        return self._report(row) if row else None

    def reports(self, *, seller_id: str | None = None, statuses: list[str] | None = None) -> list[dict[str, Any]]:
        rows = self._newest_first("reports", self.REPORT_KEYS, "report_id", seller_id=seller_id, statuses=statuses)
        return [self._report(r) for r in rows]

    def update_report(self, report_id: str, **values: Any) -> None:
        with self.write() as db:
            db.execute(f"UPDATE reports SET {', '.join(f'{k} = ?' for k in values)} WHERE report_id = ?",
                       (*values.values(), report_id))

    def listings(self, seller_id: str, marketplace_id: str) -> list[dict[str, Any]]:
        return [json.loads(r[0]) for r in self.db().execute(
            "SELECT doc FROM listings WHERE seller_id = ? AND marketplace_id = ? ORDER BY position, sku",
            (seller_id, marketplace_id))]

    def count_listings(self, seller_id: str, marketplace_id: str) -> int:
        return self.db().execute("SELECT COUNT(*) FROM listings WHERE seller_id = ? AND marketplace_id = ?",
                                 (seller_id, marketplace_id)).fetchone()[0]

    def put_listings(self, seller_id: str, marketplace_id: str, docs: list[dict[str, Any]], *,
                     replace: bool = False) -> None:
        """Insert or replace listings by SKU (``replace``: the marketplace's other listings are removed)."""
        with self.write() as db:
            if replace:
                db.execute("DELETE FROM listings WHERE seller_id = ? AND marketplace_id = ?",
                           (seller_id, marketplace_id))
            start = db.execute("SELECT COALESCE(MAX(position), 0) FROM listings WHERE seller_id = ? AND "
                               "marketplace_id = ?", (seller_id, marketplace_id)).fetchone()[0]
            db.executemany(
                "INSERT INTO listings (seller_id, marketplace_id, sku, position, doc) VALUES (?,?,?,?,?) "
                "ON CONFLICT (seller_id, marketplace_id, sku) DO UPDATE SET doc = excluded.doc",
                [(seller_id, marketplace_id, d["sku"], start + i + 1, json.dumps(d, ensure_ascii=False))
                 for i, d in enumerate(docs)])

    def delete_listings(self, seller_id: str, marketplace_id: str, skus: list[str]) -> None:
        with self.write() as db:
            db.executemany("DELETE FROM listings WHERE seller_id = ? AND marketplace_id = ? AND sku = ?",
                           [(seller_id, marketplace_id, s) for s in skus])

    # ---- recorded requests -------------------------------------------------------------------------------------
    def record(self, *, at_ms: int, method: str, path: str, query: str, body: str, status: int,
               operation: str | None, request_id: str | None, fault: str | None) -> None:
        with self.write() as db:
            db.execute("INSERT INTO requests (at_ms, method, path, query, body, status, operation, request_id, fault) "
                       "VALUES (?,?,?,?,?,?,?,?,?)",
                       (at_ms, method, path, query, body, status, operation, request_id, fault))

    def requests(self, *, since: int = 0, operation: str | None = None, method: str | None = None,
                 path: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        sql = ("SELECT id, at_ms, method, path, query, body, status, operation, request_id, fault FROM requests "
               "WHERE id > ?")
        args: list[Any] = [since]
        if operation:
            sql += " AND operation = ?"
            args.append(operation)
        if method:
            sql += " AND method = ?"
            args.append(method.upper())
        if path:
            sql += " AND path LIKE ?"
            args.append(path.replace("%", r"\%") + "%")
        sql += " ORDER BY id LIMIT ?"
        args.append(limit)
        keys = ("id", "at_ms", "method", "path", "query", "body", "status", "operation", "request_id", "fault")
        return [dict(zip(keys, r, strict=True)) for r in self.db().execute(sql, args)]

    def reset(self) -> None:
        """Forget orders, feeds, documents and recorded requests; keep credentials, tokens and settings."""
        with self.write() as db:
            for table in ("orders", "documents", "feeds", "requests", "reports", "listings"):
                db.execute(f"DELETE FROM {table}")
            # Reports (reports.py): the default listings come back, report faults go.
            db.execute("DELETE FROM meta WHERE key IN ('listings_seeded', 'report_faults')")
