"""The dock beside the views that holds a lesson's text: its Markdown rendered, scrollable, with
links that open in the browser. It can be closed and shown again from the Lessons menu."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QTextBrowser

from gdplayground.labs.lessons import Lesson

DOCK_WIDTH = 300  # pixels: a column of text beside the views
NARROWEST = 140  # pixels: beside the experiment's panels and the widest tab, in a window 1,100 wide


class LessonDock(QDockWidget):
    def __init__(self):
        super().__init__("Lesson")
        self.setObjectName("lesson")
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(True)
        self.text.setMinimumWidth(NARROWEST)
        self.setWidget(self.text)
        self.setFeatures(QDockWidget.DockWidgetClosable | QDockWidget.DockWidgetMovable
                         | QDockWidget.DockWidgetFloatable)
        self.setAllowedAreas(Qt.LeftDockWidgetArea | Qt.RightDockWidgetArea)
        self.lesson: Lesson | None = None
        self.toggleViewAction().setText("Lesson text")
        self.toggleViewAction().setToolTip("Show or hide the text of the lesson opened last")
        self.toggleViewAction().setEnabled(False)  # no lesson yet

    def show_lesson(self, lesson: Lesson) -> None:
        self.lesson = lesson
        self.setWindowTitle(f"Lesson: {lesson.title}")
        self.text.setMarkdown(lesson.text)
        self.toggleViewAction().setEnabled(True)
        self.show()
        self.raise_()
