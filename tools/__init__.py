"""Developer tools that are not part of the bot: `python -m tools.screens` (make screens)."""
