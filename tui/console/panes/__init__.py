"""One module per pane; each pane is a Textual Screen installed as an app mode."""
