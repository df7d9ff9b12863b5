"""Jingle audio/video calls: a typed session description, converted between SDP (what the
frontends' WebRTC engines speak) and Jingle XML (what goes over XMPP).

- :mod:`.model`: the typed session, its bounds and the checks every value passes;
- :mod:`.sdp`: SDP text (RFC 8866, as WebRTC and aiortc write it) to and from the model;
- :mod:`.rtp_xml`, :mod:`.ice_xml`, :mod:`.jingle_xml`: the model to and from the Jingle
  ``<content/>`` elements (XEP-0166/0167/0176/0320/0338/0339/0293/0294);
- :mod:`.order`: the rule calls rest on, the order of the media sections kept end to end;
- :mod:`.actions`: the ``<jingle/>`` element of each XEP-0166 action, trickled candidates;
- :mod:`.call_sessions`, :mod:`.call_history`: the open calls (bounded) and a call as a
  history entry.

Pure pieces: nothing here sends, stores or waits; the plugins ``plugin_xep_0166`` and
``plugin_xep_0167`` do.
"""
