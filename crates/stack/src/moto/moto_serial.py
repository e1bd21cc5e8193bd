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

Usage: python3 moto_serial.py PORT
"""

import copy
import sys

from moto.dynamodb import models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
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
    try:
        moto_transact_write_items(self, transact_items)
    except BaseException:
        for table, hash_key, range_key, item in reversed(before):
            put_back(table, hash_key, range_key, item)
        for shard, length in streamed.values():
            del shard.items[length:]
        raise
    finally:
        models.copy = copy


DynamoDBBackend.transact_write_items = transact_write_items

if __name__ == "__main__":
    run_simple(
        "127.0.0.1",
        int(sys.argv[1]),
        DomainDispatcherApplication(create_backend_app),
        threaded=False,
    )
