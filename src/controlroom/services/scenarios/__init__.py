"""The scenarios service: rules of the Setup that run a function when HK or an event says so.

* :mod:`.conditions` -- the ``when`` of a rule: an HK parameter against a
  threshold, held for a time, or an event;
* :mod:`.rules` -- the ``scenarios`` section of a Setup (format there), checked
  as a whole, and the allow-listed import of what a rule runs;
* :mod:`.evaluator` -- hold timers, cooldowns, one run at a time per rule, on an
  injected clock;
* :mod:`.firing` -- each firing on a worker thread through the
  :class:`~controlroom.services.setupdriven.Runner` the program passes
  (observations live in :mod:`controlroom.processes.jobs`);
* :mod:`.journal` -- the firings in memory and in the command journal;
* :mod:`.streams` and :mod:`.discovery` -- following ``hk/`` and ``event/`` of
  every server the Settings, the Setup and the registry know;
* :mod:`.service` and :mod:`.server` -- the ``scenarios`` control server,
  following the configuration manager's current Setup.

Every error is a :class:`~.errors.ScenarioError`.
"""
