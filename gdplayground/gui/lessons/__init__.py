"""Lessons in the window: the Lessons menu, File ▸ Open lesson… and the dock of a lesson's text."""
