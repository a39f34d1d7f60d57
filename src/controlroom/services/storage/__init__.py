"""The storage manager: housekeeping and the command journal, stored for good.

* :mod:`.server` -- :class:`~.server.StorageManager`, served as the ``storage``
  control server (``python -m controlroom.processes.service storage``):
  ``store_packed`` (and ``store``) acknowledges a batch once every configured
  backend made it durable; ``get_housekeeping``, ``latest``, ``names``,
  ``journal`` answer queries;
* :mod:`.ingest` -- batches to every backend, :mod:`.workers` and
  :mod:`.procworker` -- each backend in a process of its own
  (:mod:`.backendproc`), batches that wait there written together;
* :mod:`.sender` -- :class:`~.sender.StorageSender`, the housekeeping sink that
  batches a control server's rows to it without ever blocking the server;
* :mod:`.journal` -- :class:`~.journal.JournalSink`, the command observer that
  stores every device command (origin ``JOURNAL``);
* :mod:`.attach` -- :func:`~.attach.attach_storage` puts both on a server.

Every error is a :class:`~.errors.StorageServiceError`.
"""
