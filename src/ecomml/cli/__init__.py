"""The ``ecomml`` command line: one thin Typer sub-app per domain."""
