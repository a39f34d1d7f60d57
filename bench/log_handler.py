"""What the ZeroMQ log handler costs a log call while the log manager is down.

Prints one JSON object::

    {"handler_us", "baseline_us", "ratio", "records", "buffer", "target_ratio", "within_target"}

``handler_us`` is one ``logger.info("record %d", n)`` with a
:class:`~controlroom.rpc.loghandler.LogHandler` whose endpoint nobody listens
on: its buffer is full, so every record drops the oldest. ``baseline_us`` is
the same call with a handler that does nothing: logging's own work. Both are
measured in alternating rounds on a logger outside the logger tree, and each
figure is the median over rounds. The handler must add no network wait: the
target is under three times logging's own cost.

    python bench/log_handler.py [--rounds 7] [--records 10000]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time

from controlroom.rpc.loghandler import LogHandler
from controlroom.testing.ports import free_tcp_port

TARGET_RATIO = 3.0
BUFFER = 100


class Discard(logging.Handler):
    """Does nothing with a record: what logging costs before any handler works."""

    def emit(self, record: logging.LogRecord) -> None:
        """Nothing to do."""


def per_record_us(logger: logging.Logger, records: int) -> float:
    clock = time.perf_counter
    start = clock()
    for index in range(records):
        logger.info("record %d", index)
    return (clock() - start) / records * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--records", type=int, default=10_000)
    args = parser.parse_args()
    loggers = {name: logging.Logger(f"bench.{name}", logging.DEBUG) for name in ("handler", "base")}
    handler = LogHandler(f"tcp://127.0.0.1:{free_tcp_port()}", server="bench", buffer=BUFFER)
    loggers["handler"].addHandler(handler)
    loggers["base"].addHandler(Discard())
    rounds: dict[str, list[float]] = {name: [] for name in loggers}
    try:
        for logger in loggers.values():
            per_record_us(logger, 1000)  # warm up, and fill the buffer
        for _ in range(args.rounds):
            for name, logger in loggers.items():
                rounds[name].append(per_record_us(logger, args.records))
        sent = handler.sent
    finally:
        handler.close()
    handler_us = statistics.median(rounds["handler"])
    baseline_us = statistics.median(rounds["base"])
    assert sent == 0, "the log manager was meant to be down"
    ratio = handler_us / baseline_us
    figures = {
        "handler_us": round(handler_us, 2),
        "baseline_us": round(baseline_us, 2),
        "ratio": round(ratio, 2),
        "records": args.records,
        "buffer": BUFFER,
        "target_ratio": TARGET_RATIO,
        "within_target": ratio < TARGET_RATIO,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
