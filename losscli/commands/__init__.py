"""One module per command: its job (``run_*``, returning the exit code) and its result record.
``cli.py`` only declares the options and calls these."""
