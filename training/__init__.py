"""Rebuilds the bundled model in ``resources/models`` from a labelled dataset."""
