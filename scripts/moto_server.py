"""moto's server (DynamoDB + Secrets Manager over HTTP) with two speed fixes.

Run as `.venv/bin/python scripts/moto_server.py -H 127.0.0.1 -p PORT`; the
arguments are moto_server's own.

Why: moto answers every Query on a table's key by listing and sorting *every*
item of the table (`Table.query` -> `Table.all_items()` -> `sorted`), then
keeping the items of the queried partition. A query of a one-item partition
took 81 ms in a table of 1,000 items, 634 ms at 10,000 and 1,757 ms at 40,000
(measured here, moto 5.2.5), so on moto a sync or an import of a large account
was bound by everything already stored rather than by its own requests.
DynamoDB reads one partition; so does this.

What changes: while a Query on the table's own key (no index) runs,
`all_items()` returns only the items stored under the queried partition key
(moto keeps them in `Table.items[hash_key]`). moto's query then filters,
sorts, pages, applies conditions and projections exactly as before, so the
answers are the same; only the work is smaller. Index queries, scans and
everything else are untouched. If this moto's internals are not what the
patch expects, it says so on stderr and runs moto unpatched.

The second fix, in the same place: within the partition, moto then walks
every item from the partition's start on every page. It skips the items
before `ExclusiveStartKey` one by one (a slow key comparison each), and it
computes the size of every item it passes on the way to the page's limit,
those failing the sort-key condition (`SK > :after`, `begins_with`)
included. A page deep into a partition of 3,000 items cost as much as the
whole partition, so paging through 100,000 assets (32 partitions, 200
pages) took many minutes. The partition's items are now narrowed first to
the run of sort keys past the start key that meet the sort-key condition,
plus the one item after that run (moto ends a full page with a
`LastEvaluatedKey` only when another item follows); moto applies both
again itself (they pass), so its answers, page ends and
`LastEvaluatedKey`s are the same (scripts/check_moto_patch.py shows it).
"""

import sys
import threading


def patch_partition_queries() -> bool:
    try:
        from moto.dynamodb.models.dynamo_type import DynamoType
        from moto.dynamodb.models.table import Table
    except ImportError:
        return False
    query, all_items = getattr(Table, "query", None), getattr(Table, "all_items", None)
    if query is None or all_items is None:
        return False
    current = threading.local()

    def arg(args, kwargs, position, name, default=None):
        # Table.query(hash_key, range_comparison, range_objs, limit,
        # exclusive_start_key, scan_index_forward, projection_expressions,
        # index_name, ...): positions here are after hash_key.
        if name in kwargs:
            return kwargs[name]
        return args[position] if len(args) > position else default

    def partition_query(self, hash_key, *args, **kwargs):
        index_name = arg(args, kwargs, 6, "index_name")
        if index_name or hash_key is None or not isinstance(getattr(self, "items", None), dict):
            return query(self, hash_key, *args, **kwargs)
        current.partition = (
            self,
            hash_key,
            arg(args, kwargs, 0, "range_comparison"),
            arg(args, kwargs, 1, "range_objs") or [],
            arg(args, kwargs, 3, "exclusive_start_key"),
            arg(args, kwargs, 4, "scan_index_forward", True),
        )
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            current.partition = None

    def partition_items(self):
        partition = getattr(current, "partition", None)
        if partition is None or partition[0] is not self:
            return all_items(self)
        _, hash_key, comparison, objs, start_key, forward = partition
        stored = self.items.get(hash_key)
        if stored is None:
            return []
        if not self.range_key_attr:
            return [stored]
        # Ordered as moto orders them (DynamoType compares its cast_value),
        # with each key's value worked out once instead of per comparison.
        items = sorted(stored.values(), key=lambda i: i.range_key.cast_value)
        start = (start_key or {}).get(self.range_key_attr)
        start = DynamoType(start) if start is not None else None
        if not comparison and start is None:
            return items

        def wanted(item):
            key = item.range_key
            if comparison and not key.compare(comparison, objs):
                return False
            if start is not None and not (start < key if forward is not False else key < start):
                return False
            return True

        block = [n for n, item in enumerate(items) if wanted(item)]
        if not block:
            return []
        first, last = block[0], block[-1]
        if last - first + 1 != len(block):
            # Not one run of sort keys (no key condition makes that): leave it to moto.
            return items
        # moto ends a full page with a LastEvaluatedKey only when one more item
        # follows in the partition, matching or not: keep the next item in the
        # direction of the walk, so that page ends stay the same.
        if forward is False:
            return items[max(first - 1, 0) : last + 1]
        return items[first : last + 2]

    Table.query = partition_query
    Table.all_items = partition_items
    return True


def main() -> int:
    if not patch_partition_queries():
        print("moto_server.py: moto's Table.query is not as expected; running unpatched", file=sys.stderr)
    from moto.server import main as moto_main

    sys.argv[0] = "moto_server"
    return moto_main() or 0


if __name__ == "__main__":
    sys.exit(main())
