"""``python -m opsctl``: the same program as the ``opsctl`` console script."""

from opsctl.cli.main import main

main()
