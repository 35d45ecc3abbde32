"""The full-screen Textual app. Each tab is a module; the engine does the work."""
