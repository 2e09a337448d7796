"""revimg: is this profile photo really theirs? Private reverse image search."""

__version__ = "0.1.0"
