"""What the rules see: the housekeeping and events of every server but our own.

Every control server publishes ``hk/<server>`` and ``event/<server>`` (see
:mod:`controlroom.rpc.publisher`); :func:`stream_subscriber` makes the
:class:`~controlroom.rpc.follow.Subscriber` that hands each to ``on_hk`` or
``on_event`` with the server's name and the values. Our own server's events
are not rule input: its endpoint is left out (:func:`others`) and its
messages skipped.

The HK values of a server with a telemetry pipeline carry its synoptics under
a reserved key: they are merged in, so rules may name synoptics parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import zmq

from controlroom.rpc.follow import Publication, Subscriber
from controlroom.telemetry import split_sample

Callback = Callable[[str, dict[str, Any]], None]


def stream_subscriber(
    on_hk: Callback,
    on_event: Callback,
    *,
    ignore: str,
    context: zmq.Context[Any] | None = None,
) -> Subscriber:
    """HK samples (synoptics merged in) and events of the servers it follows but ``ignore``."""

    def hk(publication: Publication) -> None:
        if publication.subject != ignore:
            split = split_sample(publication.values)
            on_hk(publication.subject, {**split.values, **split.synoptics})

    def event(publication: Publication) -> None:
        if publication.subject != ignore:
            on_event(publication.subject, publication.values)

    subscriber = Subscriber(name="scenarios-streams", context=context)
    return subscriber.on("hk/", hk).on("event/", event)


def others(endpoints: Mapping[str, str], ignore: str) -> list[str]:
    """The publish endpoints of every server but ``ignore``."""
    return [endpoint for name, endpoint in endpoints.items() if name != ignore]
