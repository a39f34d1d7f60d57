"""OutputStream and per-thread capture: bounded lines, wake-ups, other threads untouched."""

from __future__ import annotations

import sys
import threading

from controlroom.web.taskoutput import OutputStream, ThreadRoutedStream, capture_thread


def test_the_output_buffer_is_bounded_and_says_what_was_missed() -> None:
    output = OutputStream(limit=3)
    for number in range(5):
        output.line("stdout", f"{number}")
    chunk = output.read()
    assert [line.text for line in chunk.lines] == ["2", "3", "4"]
    assert (chunk.missed, chunk.next, chunk.closed) == (2, 5, False)
    assert output.read(after=5).lines == []
    woken: list[int] = []
    unsubscribe = output.subscribe(lambda: woken.append(1))
    output.write("stdout", "partial")
    assert woken == []
    output.close()
    assert woken == [1]
    assert output.read(after=5).lines[0].text == "partial"
    unsubscribe()


def test_only_the_captured_thread_is_routed() -> None:
    output = OutputStream()
    other_wrote = threading.Event()

    def other() -> None:
        print("from another thread")
        other_wrote.set()

    with capture_thread(output):
        assert isinstance(sys.stdout, ThreadRoutedStream)
        print("captured")
        worker = threading.Thread(target=other)
        worker.start()
        worker.join()
        print("still", "captured", file=sys.stderr)
    print("not captured")
    seen = [f"{line.stream}:{line.text}" for line in output.read().lines]
    assert other_wrote.is_set()
    assert seen == ["stdout:captured", "stderr:still captured"]


def test_a_long_line_without_newline_is_split() -> None:
    output = OutputStream()
    output.write("stdout", "x" * 25_000)
    output.close()
    assert [len(line.text) for line in output.read().lines] == [10_000, 10_000, 5_000]
