"""``python -m tagger`` is the same as the ``mood-tagger`` command."""

from tagger.cli import main

raise SystemExit(main())
