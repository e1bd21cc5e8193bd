"""Tests of moto_serial.py's item-by-item transaction rollback, on moto's DynamoDB in process.

Run with `python3 -m unittest -v moto_serial_test` from this folder (`cargo xtask test` does).
"""

import os
import unittest

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

import boto3  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402
from moto import mock_aws  # noqa: E402
from moto.core import DEFAULT_ACCOUNT_ID  # noqa: E402
from moto.dynamodb.models import dynamodb_backends  # noqa: E402

import moto_serial  # noqa: E402  (patches moto's DynamoDB on import)

REGION = "us-east-1"


def put(table, key, value):
    return {"Put": {"TableName": table, "Item": {"pk": {"S": key}, "v": {"N": str(value)}}}}


def set_value(table, key, value, condition=None):
    update = {
        "TableName": table,
        "Key": {"pk": {"S": key}},
        "UpdateExpression": "SET v = :v",
        "ExpressionAttributeValues": {":v": {"N": str(value)}},
    }
    if condition:
        update["ConditionExpression"] = condition
    return {"Update": update}


@mock_aws
class ItemByItemRollback(unittest.TestCase):
    def setUp(self):
        self.client = boto3.client("dynamodb", region_name=REGION)
        for name in ("carts", "orders"):
            self.client.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            )
        self.client.put_item(TableName="carts", Item={"pk": {"S": "alice"}, "v": {"N": "1"}})
        self.client.put_item(TableName="carts", Item={"pk": {"S": "bob"}, "v": {"N": "7"}})
        self.backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]

    def value(self, table, key):
        item = self.client.get_item(TableName=table, Key={"pk": {"S": key}}).get("Item")
        return None if item is None else int(item["v"]["N"])

    def stream_length(self, table):
        return len(self.backend.tables[table].stream_shard.items)

    def test_a_cancelled_transaction_puts_back_only_what_it_wrote(self):
        tables = dict(self.backend.tables)
        streamed = self.stream_length("carts")
        with self.assertRaises(ClientError) as cancelled:
            self.client.transact_write_items(
                TransactItems=[
                    set_value("carts", "alice", 2),
                    put("orders", "order-1", 1),
                    set_value("carts", "carol", 3, condition="attribute_exists(pk)"),
                ]
            )
        self.assertEqual(cancelled.exception.response["Error"]["Code"], "TransactionCanceledException")
        self.assertEqual(self.value("carts", "alice"), 1)
        self.assertIsNone(self.value("orders", "order-1"))
        self.assertIsNone(self.value("carts", "carol"))
        self.assertEqual(self.value("carts", "bob"), 7)
        self.assertEqual(self.stream_length("carts"), streamed)
        # moto's own rollback swaps in copies of whole tables; this one leaves the tables in place.
        for name, table in tables.items():
            self.assertIs(self.backend.tables[name], table)

    def test_a_refused_transaction_puts_back_what_it_wrote_before_the_refusal(self):
        with self.assertRaises(ClientError) as refused:
            self.client.transact_write_items(
                TransactItems=[set_value("carts", "alice", 2), set_value("carts", "alice", 3)]
            )
        self.assertEqual(refused.exception.response["Error"]["Code"], "ValidationException")
        self.assertEqual(self.value("carts", "alice"), 1)

    def test_a_committed_transaction_writes_every_item(self):
        self.client.transact_write_items(
            TransactItems=[
                set_value("carts", "alice", 2, condition="attribute_exists(pk)"),
                put("orders", "order-1", 5),
            ]
        )
        self.assertEqual(self.value("carts", "alice"), 2)
        self.assertEqual(self.value("orders", "order-1"), 5)
        self.assertEqual(self.value("carts", "bob"), 7)


    def test_a_cancelled_transaction_leaves_no_replication_record(self):
        replica = moto_serial.REPLICA
        feed, last_write = list(replica.feed), dict(replica.last_write)
        with self.assertRaises(ClientError):
            self.client.transact_write_items(
                TransactItems=[
                    set_value("carts", "alice", 2),
                    put("orders", "order-1", 1),
                    set_value("carts", "carol", 3, condition="attribute_exists(pk)"),
                ]
            )
        self.assertEqual(replica.feed, feed)
        self.assertEqual(replica.last_write, last_write)

    def test_a_committed_transaction_records_each_item_as_a_change_of_its_own(self):
        replica = moto_serial.REPLICA
        seq = replica.next_seq
        self.client.transact_write_items(
            TransactItems=[set_value("carts", "alice", 2), put("orders", "order-1", 5)]
        )
        changes = replica.changes_after(seq - 1)["changes"]
        self.assertEqual(
            [(c["table"], c["key"], c["region"]) for c in changes],
            [("carts", {"pk": {"S": "alice"}}, REGION), ("orders", {"pk": {"S": "order-1"}}, REGION)],
        )
        self.assertLess(changes[0]["at_ns"], changes[1]["at_ns"])
        self.assertEqual(changes[0]["item"]["v"], {"N": "2"})


if __name__ == "__main__":
    unittest.main()
