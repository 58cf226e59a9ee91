"""The worker's configuration (issue 11, scale-out): the Redis queue from REDIS_URL, immediate mode refused by the
worker, the minute tick claiming each due store once however many workers run it. Two real workers at work:
test_scale_out.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from saleschannel.amazon.models import AmazonStore
from saleschannel.amazon.tasks import claim_due_stores, stores_due

ROOT = Path(__file__).resolve().parents[2]

_PROBE = r"""
import json
import django
django.setup()
from django.conf import settings
from huey.contrib.djhuey import HUEY
storage = HUEY.storage
pool = getattr(storage, "pool", None)
print(json.dumps({
    "class": type(HUEY).__name__, "storage": type(storage).__name__, "name": HUEY.name,
    "immediate": HUEY.immediate, "queue_key": getattr(storage, "queue_key", None),
    "expire_time": getattr(storage, "_expire_time", None),
    "redis": pool.connection_kwargs if pool is not None else None,
}, default=str))
"""


def probe(tmp_path, **env) -> dict:
    """Settings as a worker process reads them (``saleschannel.settings``), without connecting anywhere."""
    base = {k: v for k, v in os.environ.items()
            if k not in ("REDIS_URL", "HUEY_NAME", "HUEY_IMMEDIATE", "DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    base.update(SALESCHANNEL_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="saleschannel.settings", **env)
    result = subprocess.run([sys.executable, "-c", _PROBE], env=base, cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_redis_url_gives_a_redis_queue_named_by_huey_name(tmp_path):
    config = probe(tmp_path, REDIS_URL="redis://127.0.0.1:6379/13", HUEY_NAME="shop_b")
    assert config["class"] == "RedisExpireHuey" and config["storage"] == "RedisExpireStorage"
    assert config["immediate"] is False
    assert config["name"] == "shop_b" and config["queue_key"] == "huey.redis.shop_b"
    assert config["redis"]["host"] == "127.0.0.1" and int(config["redis"]["port"]) == 6379
    assert int(config["redis"]["db"]) == 13
    assert config["expire_time"] == 24 * 3600  # results nobody reads do not pile up in Redis


def test_without_redis_url_the_queue_is_a_sqlite_file(tmp_path):
    config = probe(tmp_path)
    assert config["class"] == "SqliteHuey" and config["immediate"] is False
    assert (tmp_path / "queue.sqlite3").exists()


def test_the_worker_refuses_immediate_mode(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(SALESCHANNEL_DATA_DIR=str(tmp_path), HUEY_IMMEDIATE="1")
    result = subprocess.run([sys.executable, "-m", "saleschannel", "worker"], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "HUEY_IMMEDIATE" in result.stderr


@pytest.mark.django_db
def test_the_tick_claims_a_due_store_once(amazon_store):
    assert stores_due() == [amazon_store]
    assert claim_due_stores() == [amazon_store.pk]
    assert claim_due_stores() == []  # a second tick at the same minute (another worker) finds it claimed
    amazon_store.refresh_from_db()
    assert amazon_store.last_sync_attempt_at is not None
    AmazonStore.objects.filter(pk=amazon_store.pk).update(is_active=False)
    AmazonStore.objects.filter(pk=amazon_store.pk).update(last_sync_attempt_at=None)
    assert claim_due_stores() == []  # inactive stores are never due
