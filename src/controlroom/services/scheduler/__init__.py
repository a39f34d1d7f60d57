"""The scheduler service: building blocks and task functions on cron schedules from the Setup.

* :mod:`.schedules` -- the ``schedules`` section of a Setup (format there) and
  the allow-listed import of what a job runs;
* :mod:`.crontab` -- crontab expressions as APScheduler cron triggers;
* :mod:`.jobs` -- the jobs on an APScheduler background scheduler, each run
  through the :class:`~controlroom.services.setupdriven.Runner` the program
  passes (with or without an observation);
* :mod:`.server` -- :class:`~.server.Scheduler`, served as the ``scheduler``
  control server, following the configuration manager's current Setup.

Every error is a :class:`~.errors.SchedulerError`.
"""
