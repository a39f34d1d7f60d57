"""SQLite's own pace: batched ``executemany`` of housekeeping rows, with the storage settings.

The baseline of ``hk_ingest.py``: the same rows the simulated control servers
send (``PARAMETERS`` float values, the UTC time, Setup id 1, an obsid), into
the table the SQLite backend makes (``REAL`` timestamp, ``INTEGER`` Setup id,
``TEXT`` obsid, one untyped column per parameter, an index on the timestamp),
with the same durability: WAL journal, ``synchronous`` as given (the Settings'
``FULL``), one ``BEGIN IMMEDIATE`` / ``executemany`` / ``COMMIT`` per batch of
``batch`` rows, i.e. one fsync of the WAL per batch. Only the statements are
timed; giving each batch fresh, increasing timestamps (so the index grows at
its end, as it does for real rows) is not.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

PARAMETERS = 20


def sample_values(n: int) -> list[float]:
    """The values of sample ``n``: what the simulated control servers send."""
    return [n + k * 0.001 for k in range(PARAMETERS)]


def sqlite_rows_per_s(
    path: Path, batch: int, seconds: float, synchronous: str = "FULL"
) -> tuple[float, float]:
    """Rows per second of statement time, and CPU µs per row, for about ``seconds``."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={synchronous}")
        columns = [f"SIM0_P{k:02d}" for k in range(PARAMETERS)]
        db.execute(
            "CREATE TABLE SIM0 (timestamp REAL NOT NULL, setup_id INTEGER, obsid TEXT, "
            + ", ".join(f'"{c}"' for c in columns)
            + ")"
        )
        db.execute('CREATE INDEX "SIM0:time" ON SIM0 (timestamp)')
        names = ", ".join(["timestamp", "setup_id", "obsid", *(f'"{c}"' for c in columns)])
        insert = f"INSERT INTO SIM0 ({names}) VALUES ({', '.join('?' * (3 + PARAMETERS))})"
        rows = [[0.0, 1, "LAB_00001", *sample_values(n)] for n in range(batch)]
        spent, cpu, stored = 0.0, 0.0, 0
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            now = time.time()
            for i, row in enumerate(rows):
                row[0] = now + i * 1e-6
            started, cpu_started = time.perf_counter(), time.process_time()
            db.execute("BEGIN IMMEDIATE")
            db.executemany(insert, rows)
            db.execute("COMMIT")
            spent += time.perf_counter() - started
            cpu += time.process_time() - cpu_started
            stored += len(rows)
        return stored / spent, cpu / stored * 1e6
    finally:
        db.close()
