"""moto_server's application for the two-region stack: one request at a time, and DynamoDB's
TransactWriteItems rolled back item by item.

moto (checked on 5.2.1 and 5.2.5) backs a transaction up by deep-copying every table it touches,
stream records included, before it writes anything, and puts those copies back when the
transaction is cancelled. Two things follow:

- With threads (`moto_server` serves each request in a thread of its own), putting a copy back
  undoes what other requests committed meanwhile: acknowledged writes are lost. Hence one request
  at a time, which also makes every transaction atomic, as DynamoDB's are.
- The copy grows with everything ever written: 4 ms per transaction on empty tables, a third of a
  second after a few thousand writes, so a drill's calls time out more the longer it runs.

Here the backup is of the items the transaction names, taken before it runs; moto's table copy is
skipped (its `copy.deepcopy` leaves tables as they are while the transaction runs), and a cancelled
or refused transaction puts those items and the tables' stream records back as they were. What is
answered is moto's own: the same validation, the same cancellation reasons.

It is also one region's copy of DynamoDB global tables, with what the stack's replicator
(`crates/stack/src/replication/global_tables.rs`) needs, under `/_replication/` beside moto's own
API:

- Every item write that commits (put, update, delete, each item of a transaction; only tables
  with a stream, as global tables require) is recorded with the time it was made in this region
  (`time.time_ns()`, strictly increasing) and this region's name, in the item's replication
  metadata (kept beside the table, as DynamoDB keeps it out of the item) and, for a write made
  here, in the change feed. A cancelled transaction takes its records back with its items.
- `GET /_replication/changes?after=SEQ` answers the feed's changes after SEQ (and forgets those up
  to SEQ, which the caller has taken): `{"changes": [{"seq", "table", "key", "item" (null for a
  delete), "at_ns", "region"}]}`. Replicated writes are not in it, so nothing echoes back.
- `POST /_replication/apply` with one such change writes it here when it is newer than the
  item's last write (time, then region name: last writer wins per item, as global tables decide),
  atomically, since one request runs at a time: `{"outcome": "applied" | "superseded" |
  "duplicate"}`, a superseded one with the newer write's `winner_at_ns` and `winner_region`.
- `GET /_replication/items?table=NAME` answers every item of a table with its metadata:
  `{"items": [{"item", "at_ns", "region"}]}` (`at_ns` 0 for an item written before replication
  knew it).

Usage: python3 moto_serial.py PORT [REGION]  (REGION: the AWS region its clients name, default
us-east-1)
"""

import copy
import json
import sys
import time
from urllib.parse import parse_qs

from moto.dynamodb import models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import StreamShard, Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


class TablesUncopied:
    """Stands in for the `copy` module inside moto.dynamodb.models while a transaction runs."""

    copy = staticmethod(copy.copy)

    @staticmethod
    def deepcopy(value, memo=None):
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def named_items(backend, transact_items):
    """(table, hash key, range key) of each item the transaction names, as moto keys them."""
    named = []
    for entry in transact_items:
        op = next(iter(entry.values()), None) if isinstance(entry, dict) else None
        if not isinstance(op, dict):
            continue
        table = backend.tables.get(op.get("TableName"))
        key = op.get("Key") or op.get("Item")
        if table is None or not isinstance(key, dict):
            continue
        try:
            hash_key = DynamoType(key[table.hash_key_attr])
            range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        except (KeyError, TypeError, ValueError):
            # moto refuses such an operation before writing it.
            continue
        named.append((table, hash_key, range_key))
    return named


def put_back(table, hash_key, range_key, item):
    if range_key is None:
        if item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item
    elif item is None:
        table.items.get(hash_key, {}).pop(range_key, None)
    else:
        table.items[hash_key][range_key] = item


moto_transact_write_items = DynamoDBBackend.transact_write_items


def transact_write_items(self, transact_items):
    named = named_items(self, transact_items)
    before = [
        (table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key)))
        for table, hash_key, range_key in named
    ]
    streamed = {
        id(table): (table.stream_shard, len(table.stream_shard.items))
        for table, _, _ in named
        if table.stream_shard is not None
    }
    models.copy = TablesUncopied
    REPLICA.journal = []
    try:
        moto_transact_write_items(self, transact_items)
    except BaseException:
        for table, hash_key, range_key, item in reversed(before):
            put_back(table, hash_key, range_key, item)
        for shard, length in streamed.values():
            del shard.items[length:]
        REPLICA.take_back(REPLICA.journal)
        raise
    finally:
        models.copy = copy
        REPLICA.journal = None


DynamoDBBackend.transact_write_items = transact_write_items


def item_key(table, item):
    """The item's key attributes, in DynamoDB JSON."""
    key = {table.hash_key_attr: item.hash_key.to_json()}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = item.range_key.to_json()
    return key


def key_id(table_name, key):
    return table_name + "\0" + json.dumps(key, sort_keys=True)


class Replica:
    """This region's replication records: each item's last write and the feed of local writes."""

    def __init__(self, region):
        self.region = region
        # key_id -> (at_ns, region) of the item's last write, deletes included (tombstones).
        self.last_write = {}
        self.feed = []
        self.next_seq = 1
        self.last_at_ns = 0
        # While a replicated change is written: its (at_ns, region).
        self.applying = None
        # While a transaction runs: what to take back if it is cancelled.
        self.journal = None

    def now_ns(self):
        self.last_at_ns = max(time.time_ns(), self.last_at_ns + 1)
        return self.last_at_ns

    def record(self, table, old, new):
        key = item_key(table, new if new is not None else old)
        kid = key_id(table.name, key)
        if self.applying is not None:
            stamp = self.applying
        else:
            stamp = (self.now_ns(), self.region)
        if self.journal is not None:
            self.journal.append((kid, self.last_write.get(kid), len(self.feed)))
        self.last_write[kid] = stamp
        if self.applying is None:
            self.feed.append(
                {
                    "seq": self.next_seq,
                    "table": table.name,
                    "key": key,
                    "item": None if new is None else new.to_json()["Attributes"],
                    "at_ns": stamp[0],
                    "region": stamp[1],
                }
            )
            self.next_seq += 1

    def take_back(self, journal):
        """Undoes the records of a cancelled transaction (`journal`, in the order made)."""
        for kid, previous, feed_length in reversed(journal):
            if previous is None:
                self.last_write.pop(kid, None)
            else:
                self.last_write[kid] = previous
            if len(self.feed) > feed_length:
                self.next_seq = self.feed[feed_length]["seq"]
                del self.feed[feed_length:]

    def changes_after(self, seq):
        self.feed = [change for change in self.feed if change["seq"] > seq]
        return {"changes": self.feed}

    def table(self, name):
        table = dynamodb_backends[DEFAULT_ACCOUNT_ID][self.region].tables.get(name)
        if table is None:
            raise LookupError(f"no table {name} in {self.region}")
        return table

    def apply(self, change):
        table = self.table(change["table"])
        key = change["key"]
        incoming = (int(change["at_ns"]), str(change["region"]))
        current = self.last_write.get(key_id(table.name, key))
        if current == incoming:
            return {"outcome": "duplicate"}
        if current is not None and current > incoming:
            return {"outcome": "superseded", "winner_at_ns": current[0], "winner_region": current[1]}
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        self.applying = incoming
        try:
            if change["item"] is None:
                table.delete_item(hash_key, range_key)
            else:
                table.put_item(change["item"], overwrite=True)
        finally:
            self.applying = None
        # Also when nothing was there to delete: the tombstone orders later changes.
        self.last_write[key_id(table.name, key)] = incoming
        return {"outcome": "applied"}

    def items(self, name):
        table = self.table(name)
        answer = []
        for item in table.all_items():
            key = item_key(table, item)
            at_ns, region = self.last_write.get(key_id(name, key), (0, ""))
            answer.append({"item": item.to_json()["Attributes"], "at_ns": at_ns, "region": region})
        return {"items": answer}


REPLICA = Replica(sys.argv[2] if __name__ == "__main__" and len(sys.argv) > 2 else "us-east-1")

moto_stream_add = StreamShard.add


def stream_add(self, old, new):
    moto_stream_add(self, old, new)
    REPLICA.record(self.table, old, new)


StreamShard.add = stream_add


class ReplicationApp:
    """moto's application, with the `/_replication/` endpoints in front of it."""

    def __init__(self, moto_app):
        self.moto_app = moto_app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/_replication/"):
            return self.moto_app(environ, start_response)
        query = parse_qs(environ.get("QUERY_STRING", ""))
        try:
            if path == "/_replication/changes":
                body = REPLICA.changes_after(int(query.get("after", ["0"])[0]))
            elif path == "/_replication/items":
                body = REPLICA.items(query.get("table", [""])[0])
            elif path == "/_replication/apply" and environ.get("REQUEST_METHOD") == "POST":
                length = int(environ.get("CONTENT_LENGTH") or 0)
                body = REPLICA.apply(json.loads(environ["wsgi.input"].read(length)))
            else:
                raise LookupError(f"no {path}")
            status = "200 OK"
        except LookupError as error:
            status, body = "404 Not Found", {"error": str(error)}
        except (ValueError, KeyError, TypeError) as error:
            status, body = "400 Bad Request", {"error": f"{type(error).__name__}: {error}"}
        data = json.dumps(body).encode()
        start_response(
            status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        )
        return [data]


if __name__ == "__main__":
    run_simple(
        "127.0.0.1",
        int(sys.argv[1]),
        ReplicationApp(DomainDispatcherApplication(create_backend_app)),
        threaded=False,
    )
