"""The Jingle modules only a call uses, imported by the call (issue 14).

The SDP model alone builds 13 checked dataclasses (~12 ms of CPU), and with the SDP and
Jingle converters a start would spend ~20 ms on calls nobody may make: the plugins reach
them through these stand-ins (:func:`~sat_backend.core.lazy_import.lazy_module`), typed
as the modules themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sat_backend.core.lazy_import import lazy_module

if TYPE_CHECKING:
    from sat_backend.plugins.jingle import actions, candidates, jingle_xml, order, sdp
else:
    actions = lazy_module("sat_backend.plugins.jingle.actions")
    candidates = lazy_module("sat_backend.plugins.jingle.candidates")
    jingle_xml = lazy_module("sat_backend.plugins.jingle.jingle_xml")
    order = lazy_module("sat_backend.plugins.jingle.order")
    sdp = lazy_module("sat_backend.plugins.jingle.sdp")

__all__ = ["actions", "candidates", "jingle_xml", "order", "sdp"]
