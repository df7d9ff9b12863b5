"""The transparent pubsub cache, one module per job (design: ``shared/docs/pubsub-cache.md``,
doc/developer.rst); ``plugin_pubsub_cache`` declares the plugin and wires them:

* :mod:`.analysers`: which nodes are synchronised, and their parsers;
* :mod:`.trigger`: ``PsItemsGet`` answered from the database, or a node analysed;
* :mod:`.node_sync`: synchronising a node (its in-progress state, retries with backoff);
* :mod:`.ingest`: notifications applied to cached nodes, and what ``PsEvent`` says;
* :mod:`.reconnect`: on each connection, synchronised nodes compared with their service;
* :mod:`.existence`: a node read after a while confirmed with a service that may not notify deletes;
* :mod:`.search`: ``PsCacheSearch``.

Modules import their siblings below them only (analysers ← node_sync ← ingest, trigger,
reconnect; existence ← trigger), never the plugin module.
"""
