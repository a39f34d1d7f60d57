"""The composition root: every kind of process, built from the Settings and served.

* :mod:`.device` -- a device's control server (driver or simulator) with its links;
* :mod:`.service` -- the core services, one definition each (:data:`~.service.CORE_SERVICES`);
* :mod:`.bridge` -- the sensor-node bridge, the pipe-command server and the MQTT bridge;
* :mod:`.links` -- what a process attaches to the core services while it serves;
* :mod:`.jobs` -- how the scheduler and the scenarios run building blocks in observations;
* :mod:`.entry` -- what every ``python -m`` entry shares: log set-up, ready stream, signals;
* :mod:`.detached` -- processes that outlive the command that started them (``<service> start``,
  ``cs start``, ``up``), recorded in state files (:mod:`.statefiles`);
* :mod:`.labwatch` -- who restarts a crashed process manager: a foreground ``up``, or the
  watcher ``up -d`` leaves (``python -m controlroom.processes.labwatch``).

Each of ``device``, ``service`` and ``bridge`` is a ``python -m`` entry, the
command the process manager runs; they import neither Typer nor Rich, so a
process starts sooner and holds only what it serves. The command-line
interface calls the same functions for its ``run`` commands. Nothing below
this package imports it (import-linter checks it), and it imports neither
the CLI nor the web panel, which has its own entry (``python -m controlroom.web``).
"""
