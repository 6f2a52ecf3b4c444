"""The ``verirag`` command line."""
