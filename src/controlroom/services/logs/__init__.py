"""The log manager: every process's log records in daily files, queried and followed.

* :mod:`.records` -- a record as stored (one JSON line), checked on arrival, filtered;
* :mod:`.store` -- daily files rotated at UTC midnight, old days deleted;
* :mod:`.query` -- the last N records that pass a filter, read from the end;
* :mod:`.receiver` -- the PULL socket that every process's log handler pushes to;
* :mod:`.server` -- :class:`~.server.LogManager`, served as the ``logman`` control
  server (``python -m controlroom.processes.service logman``);
* :mod:`.follow` -- following new records, and installing the handler from Settings.

The handler every process installs is :mod:`controlroom.rpc.loghandler`.
Every error is a :class:`~.errors.LogsError`.
"""
