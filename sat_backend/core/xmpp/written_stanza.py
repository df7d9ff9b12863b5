"""A stanza already written as text, for the paths where building a ``domish`` tree costs
more than the stanza itself (``MessageSend``, issue 14). Its own module: the code that
writes such stanzas must not import the stream (and with it Twisted's TLS stack) to name
the type."""

from __future__ import annotations


class WrittenStanza(str):
    """A stanza already written as text (what ``XmlStream.send`` sends as it is), with
    what it is in ``stanza_kind``'s form, for the log line and error of a refusal."""

    kind: str

    def __new__(cls, text: str, kind: str) -> WrittenStanza:
        written = super().__new__(cls, text)
        written.kind = kind
        return written
