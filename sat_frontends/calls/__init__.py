"""Media side of audio/video calls for frontends: a WebRTC engine (aiortc, optional: the
``call`` extra) driven through the bridge's call members and signals (``doc/calls.rst``).

Only :mod:`sat_frontends.calls.sdp_text` imports without aiortc: the other modules import
it at their top, so a frontend imports them only when it places or answers a call.
"""
