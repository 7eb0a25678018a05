"""One module per subcommand; each has ``register(subparsers)``.

Add a new command by writing its module and naming it in :data:`COMMANDS`.
"""

COMMANDS = [
    "analyze",
    "eval",
    "retrain",
    "model",
    "playlist",
    "label",
    "write",
    "undo",
    "forget",
]
