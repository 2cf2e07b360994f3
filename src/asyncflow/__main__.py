"""Run the command line with ``python -m asyncflow``."""

from asyncflow.cli import main

if __name__ == "__main__":
    main()
