"""The application layer: model loading, generation, the dialog manager, the CLI and the UI."""
