"""Pieces of the group chat plugin (XEP-0045, :mod:`sat_backend.plugins.plugin_xep_0045`):
stanza parsing at the edge (:mod:`.stanzas`), room state (:mod:`.rooms`), joining (:mod:`.joining`)."""
