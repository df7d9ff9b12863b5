"""Backend core: launcher, host, profiles, params, plugin loader and triggers."""
