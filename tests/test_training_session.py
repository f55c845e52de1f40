"""The training session: commands queued while the worker is busy."""

import copy
import threading

from gdplayground.config import Layer, preset
from gdplayground.gui.training.worker import TrainingSession

TIMEOUT = 20_000  # ms


def test_edits_queued_behind_a_busy_worker_start_one_run_the_last_one(qtbot):
    """The storm's 2.3 s stall: thirty edits queued while the worker drew a wide network's
    picture, each then started a run in the window, one after another."""
    config = preset("spiral")
    config.data.samples = 100
    session = TrainingSession(config)
    infos, answers = [], []
    session.started.connect(infos.append)
    session.framed.connect(lambda frame: session.frame_consumed())
    session.start()
    try:
        qtbot.waitUntil(lambda: len(infos) == 1, timeout=TIMEOUT)
        busy, answer = threading.Event(), session.worker._answer
        session.worker._answer = lambda what: busy.wait(TIMEOUT / 1000) and answer(what)
        session.ask("probe", answers.append)  # holds the worker until `busy` is set
        edits = []
        for units in (3, 4, 5, 6):  # each a new network: each resets
            edits.append(copy.deepcopy(edits[-1] if edits else config))
            edits[-1].architecture.hidden = [Layer(units, "tanh")]
            session.apply(edits[-1])
            session.ask("probe", answers.append)  # queries between edits change no settings
        busy.set()
        qtbot.waitUntil(lambda: len(answers) == 5, timeout=TIMEOUT)
        session.step(1)  # a command after the edits: its frame comes after any run start
        qtbot.waitUntil(lambda: session.worker.trainer.step_count == 1, timeout=TIMEOUT)
        qtbot.wait(100)
    finally:
        session.shutdown()
    assert [info.sizes for info in infos] == [(2, 8, 8, 1), (2, 6, 1)]
    assert session.worker.trainer.config == edits[-1]
