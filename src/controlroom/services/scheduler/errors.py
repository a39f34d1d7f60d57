"""Exceptions of the scheduler service.

``SchedulerError`` is the one root; through a proxy each arrives as the
``RemoteError`` subclass named after the class below.
"""

from __future__ import annotations


class SchedulerError(Exception):
    """Root of every error raised by ``controlroom.services.scheduler``."""


class ScheduleError(SchedulerError, ValueError):
    """The ``schedules`` section of a Setup, or one entry of it, is malformed."""


class UnknownJob(SchedulerError, LookupError):
    """No job of the current Setup has that name."""


class JobRefused(SchedulerError):
    """The job cannot run: its entry was refused when the Setup was loaded."""
