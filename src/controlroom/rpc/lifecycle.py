"""Starting and stopping with a ``with`` block: the shape every server, watcher and link shares.

A class says how it starts and stops; these mixins make ``with x:`` start it
and stop it on leaving the block, whatever ends the block. Subclasses keep
their own ``start``/``stop`` signatures (a timeout, a returned port).
"""

from __future__ import annotations

from typing import Self


class Stoppable:
    """Working from construction; a ``with`` block stops it at its end."""

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Startable(Stoppable):
    """Started by entering a ``with`` block and stopped on leaving it."""

    def start(self) -> object:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self
