"""tx-xmpp's pubsub, data form and RSM modules, imported by their first use (issue 14).

``tx_xmpp.data_form`` imports ``zope.interface.common.mapping``, which declares an
interface for every collection ABC: with the pubsub and RSM modules, ~10 ms of CPU that
a start spent for a connection's pubsub handler (:mod:`.pubsub_handler`) and for the
requests of pubsub and MUC. The plugins reach them through these stand-ins
(:func:`~sat_backend.core.lazy_import.lazy_module`), typed as the modules themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sat_backend.core.lazy_import import lazy_module

if TYPE_CHECKING:
    from tx_xmpp import data_form, pubsub, rsm
else:
    data_form = lazy_module("tx_xmpp.data_form")
    pubsub = lazy_module("tx_xmpp.pubsub")
    rsm = lazy_module("tx_xmpp.rsm")

__all__ = ["data_form", "pubsub", "rsm"]
