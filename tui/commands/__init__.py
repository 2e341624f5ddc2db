"""The `vmdeck` subcommands, one module per topic; each exposes `register(subparsers)`."""
