"""The Qt-free core: scan, decode, features, model, store, tags, playlists.

Nothing under this package may import PySide6; the CLI, the GUI and ``training/`` all
stand on it.
"""
