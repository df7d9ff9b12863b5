"""What the full collections may skip: the objects of every module loaded so far.

A start freezes what it made (:func:`gc.freeze`, in the launcher), so that the full
collections :mod:`~sat_backend.core.parsed_garbage` runs walk only what came later,
~2 ms. Since the start imports what it needs and no more (issue 14), the first
connection (Twisted's reactor and TLS stack, pyOpenSSL, ``cryptography``) and the first
call that writes storage (SQLAlchemy, the ORM) import their modules afterwards: ~40,000
objects that live as long as the process, and that every full collection walked again,
~30 ms each (measured in the MessageSend bench: one per ~1,000 messages received).

So the process's heap is frozen again after a full collection when modules were loaded
since the last freeze. The cost of a freeze is what it also freezes: an object alive
then that later becomes cyclic garbage is never freed. That happens once per batch of
imports (a handful in a process's life: a first connection, a first write…), never per
message or per connection, so the memory it can hold is bounded.
"""

from __future__ import annotations

import gc
import sys

#: modules loaded when the heap was last frozen (none yet: the first call freezes)
_modules_at_freeze = -1


def freeze() -> None:
    """Move every object alive to the permanent generation (full collections skip them)."""
    global _modules_at_freeze
    gc.freeze()
    _modules_at_freeze = len(sys.modules)


def freeze_if_modules_were_loaded() -> bool:
    """:func:`freeze` if modules were loaded since the last one; whether it froze.

    Call it right after a full collection, so that what it freezes is alive."""
    if len(sys.modules) == _modules_at_freeze:
        return False
    freeze()
    return True
