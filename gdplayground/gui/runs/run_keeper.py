"""Keeping runs: the run on show joins the run list whenever something ends it (Reset, settings
that start a new run, a weight file opened, the window closing), and a kept run comes back
into the panels on request. The worker is asked for the run's copy before the command that
ends it is sent, so the copy is the run's last step, whatever follows."""

from __future__ import annotations

import copy
import html
import weakref
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths

from gdplayground.config import differences
from gdplayground.labs.sweeps.runs import SweepRun
from gdplayground.gui.runs.sweep_runner import run_name
from gdplayground.gui.widgets.qt import wait_for
from gdplayground.gui.widgets.training_run import Snapshot
from gdplayground.store.runs import KeptRun, RunStore, curves_of, default_name, figures_of, now

CLOSING_WAIT_S = 5.0  # at most, for the worker to hand over the last run as the window closes


def user_run_store() -> RunStore:
    """The run list in the user's data folder (Qt's AppDataLocation), loaded."""
    folder = QStandardPaths.writableLocation(QStandardPaths.AppDataLocation)
    return RunStore(Path(folder) / "runs")


def skipped_words(skipped: list[str]) -> str:
    """The message line's words for the run folders skipped at start-up (RunStore.load's lines,
    one a folder): HTML, each line escaped, a folder's name being anything."""
    return "<b>Runs skipped</b>, their folders damaged: " + "; ".join(map(html.escape, skipped))


class RunKeeper(QObject):
    def __init__(self, window, store: RunStore):
        """`window` is the MainWindow: its session, history, run figures, banner, Runs tab."""
        super().__init__(window)
        self.window, self.store = window, store
        self._of_sweep_run: dict[int, KeptRun] = {}  # id of a sweep run -> its kept run

    def keep(self) -> list:
        """Ask for the run on show, to keep it; returns a list that holds True once it is kept
        (or False if there was nothing to keep or it could not be written)."""
        window, done = self.window, []
        if window.info is None:
            done.append(False)
            return done

        def kept(answer) -> None:
            # The run the worker held when asked: one built after the call, from settings sent
            # before it, perhaps. Its start and its frames came before this answer, so the
            # window's history, coach and clock are that run's now, as its settings are.
            if answer is None or answer[0] != window.info.run_id:
                done.append(False)
                return
            _, snapshot, test = answer
            history, seconds = window.history, window.training_seconds()
            diverged = window.diverged  # the engine's word: it ended rolled back, refusing its rate
            run = KeptRun(default_name(snapshot.config, snapshot.changes), snapshot.config,
                          figures_of(history, snapshot.config, snapshot.state.step, seconds, test),
                          curves_of(history, snapshot.config), diverged=diverged, ended=now())
            done.append(self._store(run, history, snapshot))
        window.session.ask("kept", kept)
        return done

    def keep_sweep_run(self, run: SweepRun) -> None:
        """A run of a sweep joins the list, named by the values it tried; `kept_of` finds it
        for as long as the sweep run lives (its result view holds it)."""
        kept = KeptRun(run_name(run), run.config,
                       figures_of(run.history, run.config, run.diverged_at_step or run.state.step,
                                  run.seconds, (run.test_loss, run.test_accuracy)),
                       curves_of(run.history, run.config), diverged=run.diverged, ended=now())
        snapshot = Snapshot(run.state, run.config, run.input_scale, run.config, (), run.preparation)
        if self._store(kept, run.history, snapshot):
            self._of_sweep_run[id(run)] = kept
            weakref.finalize(run, self._of_sweep_run.pop, id(run), None)  # no id reused

    def kept_of(self, runs) -> list[KeptRun]:
        """The kept runs of these sweep runs, those still in the list."""
        found = (self._of_sweep_run.get(id(run)) for run in runs)
        return [kept for kept in found if kept is not None and kept in self.store.runs]

    def keep_before_closing(self) -> None:
        done = self.keep()
        try:
            wait_for(lambda: bool(done), CLOSING_WAIT_S)
        except TimeoutError:
            pass  # the worker is stuck in a step: closing matters more

    def _store(self, run: KeptRun, history, snapshot) -> bool:
        try:
            self.store.keep(run, history, snapshot)
        except OSError as exc:
            self.window.banner.say(f"Could not keep the run in {self.store.root}: "
                                   f"{exc.strerror or exc}", "keep")
            return False
        self.window.banner.clear("keep")  # the list is being kept again
        self.window.runs_tab.refresh()
        return True

    def restore(self, run: KeptRun, with_weights: bool) -> None:
        """Bring a kept run back into the panels, with its final weights if asked."""
        window = self.window
        if with_weights and run.folder is not None:
            window.files.open_weights(run.folder / "weights.npz")
            return
        config = copy.deepcopy(run.config)
        if window.propose(config, f"Restoring “{run.name}” starts a new run with its settings:",
                          differences(window.config, config)):
            window.banner.say(f"Settings of “{run.name}” restored.", "note")
