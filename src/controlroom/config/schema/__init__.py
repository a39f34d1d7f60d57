"""The shape of the Settings: pydantic models of every known section.

:mod:`.base` holds the section base and the value types every part shares;
each other module is one part of the tree, and :mod:`.settings` puts them
together and reports what is wrong (:func:`.settings.problems`).

Where users add keys of their own:

- ``hosts``: any host names;
- ``devices``: any device names, and inside a device entry any keys beside the
  known ones (``options`` and ``transport_options`` are free-form too);
- the top level: sections whose name starts with ``x_``.

Everywhere else an unknown key is an error, so a typo (``hk_perod_s``, or
``device:`` for ``devices:``) is reported instead of silently ignored; a new
section or key is added here first. Validation is strict: YAML already types
its values, so a quoted number where a number belongs is a mistake, not
something to coerce.

The packaged ``settings.yaml`` is complete, so the keys of the sections it has
always had are required: the YAML is the one place where their default values
live. The sections added later (``web``, ``bridges``) give every key a default
instead, so Settings files written before them stay valid.
"""
