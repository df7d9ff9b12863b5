"""Protocol plugins: one module per XEP (``plugin_xep_XXXX.py``), each declared by ``PLUGIN_INFO``."""
