"""The ``guichet`` command, run from a checkout: ``python cli.py …`` or ``python -m cli …``.

The command itself is ``evaluator.cli`` (installed, ``guichet`` runs it): the distribution installs
the ``evaluator`` package alone, and claims no generic top-level name.
"""

from evaluator.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    main()
