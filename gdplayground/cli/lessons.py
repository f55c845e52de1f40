"""`gdplayground lessons`: the lessons that ship, in their order; or lesson files checked as the
window's File ▸ Open lesson… reads them, so a teacher finds a mistake before the class does."""

from __future__ import annotations

from gdplayground.cli.flags import UsageError, path_given


def register(commands) -> None:
    lessons = commands.add_parser(
        "lessons", help="list the lessons that ship, or check lesson files",
        description="Without files, list the lessons of the window's Lessons menu. With files "
                    "(NAME.toml, its text NAME.md beside it), check each as the window opens "
                    "it: every key, value and file.")
    lessons.add_argument("files", nargs="*", type=path_given, help="lesson files to check")
    lessons.set_defaults(run=run_lessons)


def run_lessons(args) -> int:
    from gdplayground.labs.lessons import LessonError, lessons_folder, load_lesson, shipped_lessons

    try:
        lessons = [load_lesson(path) for path in args.files] if args.files else shipped_lessons()
    except LessonError as exc:
        raise UsageError(str(exc)) from None
    for lesson in lessons:
        print(f"{lesson.order:>3}  {lesson.name:<20}  opens {lesson.tab:<15}  {lesson.title}")
    if not args.files:
        print(f"Open one from the window's Lessons menu; their files are in {lessons_folder()}.")
    return 0
