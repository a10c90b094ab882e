"""Checks that scripts/moto_server.py's speed fixes change no answer.

Run as `.venv/bin/python scripts/check_moto_patch.py` (scripts/test.sh does).
In one process, with moto's in-memory backend: writes a table of several
partitions (sort keys of mixed prefixes, some items large), pages through
it with the queries the service makes (`begins_with`, `SK > :after`,
`BETWEEN`, backwards, filtered, counted, small limits with
`ExclusiveStartKey`), first with moto as it is and then patched, and fails
if any page, count or `LastEvaluatedKey` differs. Takes about 15 seconds.
"""

import os
import sys

import boto3
from moto import mock_aws

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moto_server  # noqa: E402

TABLE = "check"


def fill(client):
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for p in range(3):
        for i in range(90):
            prefix = ["ASSET#", "DEVICE#", "SITE#"][i % 3]
            item = {
                "PK": {"S": f"P#{p}"},
                "SK": {"S": f"{prefix}{i:04d}"},
                "n": {"N": str(i)},
                "odd": {"BOOL": i % 2 == 1},
            }
            if i % 17 == 0:
                # Large enough that a page of them ends on size, not count.
                item["blob"] = {"S": "x" * 60_000}
            client.put_item(TableName=TABLE, Item=item)


QUERIES = [
    dict(KeyConditionExpression="PK = :pk AND begins_with(SK, :p)", Values={":p": {"S": "ASSET#"}}),
    dict(KeyConditionExpression="PK = :pk AND SK > :a", Values={":a": {"S": "DEVICE#0050"}}),
    dict(KeyConditionExpression="PK = :pk AND SK BETWEEN :a AND :b", Values={":a": {"S": "ASSET#0030"}, ":b": {"S": "DEVICE#0070"}}),
    dict(KeyConditionExpression="PK = :pk", Values={}),
    dict(KeyConditionExpression="PK = :pk", Values={}, ScanIndexForward=False),
    dict(KeyConditionExpression="PK = :pk AND begins_with(SK, :p)", Values={":p": {"S": "SITE#"}}, ScanIndexForward=False),
    dict(
        KeyConditionExpression="PK = :pk AND begins_with(SK, :p)",
        Values={":p": {"S": "DEVICE#"}, ":t": {"BOOL": True}},
        FilterExpression="odd = :t",
    ),
    dict(KeyConditionExpression="PK = :pk AND SK < :a", Values={":a": {"S": "DEVICE#0010"}}, Select="COUNT"),
]


def pages(client, query, limit):
    """Every page of one query: (items, count, scanned, last key) each."""
    out, start = [], None
    for _ in range(1_000):
        args = dict(
            TableName=TABLE,
            KeyConditionExpression=query["KeyConditionExpression"],
            ExpressionAttributeValues={":pk": {"S": "P#1"}, **query["Values"]},
            ScanIndexForward=query.get("ScanIndexForward", True),
        )
        for k in ("FilterExpression", "Select"):
            if k in query:
                args[k] = query[k]
        if limit:
            args["Limit"] = limit
        if start:
            args["ExclusiveStartKey"] = start
        r = client.query(**args)
        items = [(i["SK"]["S"], i.get("n", {}).get("N")) for i in r.get("Items", [])]
        start = r.get("LastEvaluatedKey")
        out.append((items, r.get("Count"), r.get("ScannedCount"), start))
        if not start:
            return out
    raise AssertionError("a query never ended")


def answers(client):
    return [pages(client, q, limit) for q in QUERIES for limit in (None, 1, 7, 40)]


@mock_aws
def main() -> int:
    client = boto3.client("dynamodb", region_name="us-east-1")
    fill(client)
    before = answers(client)
    if not moto_server.patch_partition_queries():
        print("check_moto_patch: moto's Table.query is not as expected; the patch is off", file=sys.stderr)
        return 1
    after = answers(client)
    bad = [i for i, (a, b) in enumerate(zip(before, after)) if a != b]
    if bad:
        for i in bad:
            q, limit = QUERIES[i // 4], (None, 1, 7, 40)[i % 4]
            print(f"check_moto_patch: answers differ for {q} with limit {limit}", file=sys.stderr)
        return 1
    print(f"check_moto_patch: {len(after)} paged queries answer the same patched and unpatched", file=sys.stderr)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    sys.exit(main())
