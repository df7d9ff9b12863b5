"""``sat``: the command-line frontend of SàT (talks to the backend over the bridge only)."""
