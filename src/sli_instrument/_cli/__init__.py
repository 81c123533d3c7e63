"""The ``sli-instrument`` command: one module per subcommand (``add_parser`` and ``run``)."""
