"""Allow ``python -m revimg``."""

from revimg.cli import main

main()
