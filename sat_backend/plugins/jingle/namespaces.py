"""The XML namespaces of Jingle calls, in one place (the version each one comes from is
named in :mod:`.jingle_xml`)."""

from __future__ import annotations

#: XEP-0166 Jingle
NS_JINGLE = "urn:xmpp:jingle:1"
#: XEP-0167 Jingle RTP Sessions
NS_JINGLE_RTP = "urn:xmpp:jingle:apps:rtp:1"
#: XEP-0176 Jingle ICE-UDP Transport Method
NS_JINGLE_ICE_UDP = "urn:xmpp:jingle:transports:ice-udp:1"
#: XEP-0320 Use of DTLS-SRTP in Jingle Sessions
NS_JINGLE_DTLS = "urn:xmpp:jingle:apps:dtls:0"
#: XEP-0338 Jingle Grouping Framework
NS_JINGLE_GROUPING = "urn:xmpp:jingle:apps:grouping:0"
#: XEP-0339 Source-Specific Media Attributes in Jingle
NS_JINGLE_SSMA = "urn:xmpp:jingle:apps:rtp:ssma:0"
#: XEP-0293 Jingle RTP Feedback Negotiation
NS_JINGLE_RTCP_FB = "urn:xmpp:jingle:apps:rtp:rtcp-fb:0"
#: XEP-0294 Jingle RTP Header Extensions Negotiation
NS_JINGLE_RTP_HDREXT = "urn:xmpp:jingle:apps:rtp:rtp-hdrext:0"
