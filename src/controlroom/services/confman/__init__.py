"""The configuration manager: versioned Setups in git, the current Setup, observations.

* :mod:`.repository` -- the git repository of Setups (submit, list, get, diff);
* :mod:`.observations` -- obsids and the running observation, kept across restarts;
* :mod:`.server` -- :class:`~.server.ConfigurationManager`, served as the ``confman``
  control server (``python -m controlroom.processes.service confman``).

Every error is a :class:`~.errors.ConfmanError`.
"""
