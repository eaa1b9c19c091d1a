"""``python -m barenet``: the same as the ``barenet`` command."""

from .cli.main import main

raise SystemExit(main())
