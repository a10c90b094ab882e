"""moto's server (DynamoDB + Secrets Manager over HTTP) with one speed fix.

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
"""

import sys
import threading


def patch_partition_queries() -> bool:
    try:
        from moto.dynamodb.models.table import Table
    except ImportError:
        return False
    query, all_items = getattr(Table, "query", None), getattr(Table, "all_items", None)
    if query is None or all_items is None:
        return False
    current = threading.local()

    def partition_query(self, hash_key, *args, **kwargs):
        # moto passes index_name as the 8th positional argument (after
        # projection_expressions) or by name.
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        if index_name or hash_key is None or not isinstance(getattr(self, "items", None), dict):
            return query(self, hash_key, *args, **kwargs)
        current.partition = (self, hash_key)
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            current.partition = None

    def partition_items(self):
        partition = getattr(current, "partition", None)
        if partition is None or partition[0] is not self:
            return all_items(self)
        stored = self.items.get(partition[1])
        if stored is None:
            return []
        if self.range_key_attr:
            return list(stored.values())
        return [stored]

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
