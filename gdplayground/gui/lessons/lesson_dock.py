"""The dock beside the views that holds a lesson's text: its Markdown rendered, scrollable, with
links that open in the browser. It can be closed and shown again from the Lessons menu."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCharFormat, QTextCursor, QTextDocument, QTextFormat
from PySide6.QtWidgets import QDockWidget, QTextBrowser

from gdplayground.labs.lessons import Lesson

DOCK_WIDTH = 300  # pixels: a column of text beside the views
HEADING_SIZE = 1  # Qt's size steps above the text's (0): its own 3 for a title took three lines
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
        self.lesson = lesson  # its title heads the text: the dock's own stays short, a tab's name
        self.text.setMarkdown(lesson.text)
        smaller_headings(self.text.document())
        self.toggleViewAction().setEnabled(True)
        self.show()
        self.raise_()


def smaller_headings(document: QTextDocument) -> None:
    """Every heading HEADING_SIZE steps above the text's size."""
    block = document.begin()
    while block.isValid():
        if block.blockFormat().headingLevel():
            cursor = QTextCursor(block)
            cursor.movePosition(QTextCursor.EndOfBlock, QTextCursor.KeepAnchor)
            heading = QTextCharFormat()
            heading.setProperty(QTextFormat.FontSizeAdjustment, HEADING_SIZE)
            cursor.mergeCharFormat(heading)
        block = block.next()
