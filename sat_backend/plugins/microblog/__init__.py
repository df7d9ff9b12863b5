"""XEP-0277 microblogging helpers: Atom entries to and from dicts, XHTML sanitising."""
