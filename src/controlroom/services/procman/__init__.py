"""The process manager: runs this host's core services, control servers and simulators.

* :mod:`.specs` -- the processes, derived from the Settings and the current
  Setup only (the Setup's ``devices`` section is documented there);
  :mod:`.processspec` -- one process: argv, dependencies, ready line;
  :mod:`.hosts` -- which host names are this machine;
* :mod:`.child` -- one run of a process: own process group, logs, ready line;
  :mod:`.supervised` -- one process restarted with exponential backoff;
  :mod:`.supervisor` -- all of them, started and stopped in dependency order;
* :mod:`.server` -- :class:`~.server.ProcessManager`, served as the ``procman``
  control server (``python -m controlroom.processes.service procman``);
  :mod:`.confmanlink` -- the current Setup and ``new_setup`` from the confman.

Every error is a :class:`~.errors.ProcmanError`.
"""
