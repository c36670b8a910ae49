"""The typer CLI: one small module per command group over the library."""
