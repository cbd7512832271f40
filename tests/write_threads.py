"""Threads writing the warehouse at once, as a raw step's sources do (pipelines/raw.py): the
harness of the tests on `WarehouseResource.write_connection` and `shared_writes`."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from pipelines.resources import WarehouseResource


@dataclass(frozen=True)
class Write:
    started: float
    ended: float
    connection: int  # id() of the connection the write was given


def write_in_threads(warehouses: list[WarehouseResource], count: int,
                     hold: float) -> list[Write]:
    """`count` threads, thread n writing table t<n> (x = n) through warehouses[n % len] and
    holding its connection `hold` seconds; the writes sorted by start. A thread's error is
    raised."""
    writes: list[Write] = []
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            with warehouses[n % len(warehouses)].write_connection() as conn:
                started = time.monotonic()
                conn.execute(f"create table t{n} as select {n} as x")
                time.sleep(hold)
                writes.append(Write(started, time.monotonic(), id(conn)))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return sorted(writes, key=lambda w: w.started)
