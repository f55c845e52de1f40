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


def test_a_run_not_yet_announced_sends_no_frame_under_the_last_announced_id(qtbot):
    """The storm's conv filters given a dense layer's weights: a query between superseded
    edits sent the steps still pending with the new network's weights, under the old run's id,
    and the window drew them on the old run's layout."""
    config = preset("spiral")
    config.data.samples = 100
    session = TrainingSession(config)
    infos, frames, answers = [], [], []
    session.started.connect(infos.append)
    session.framed.connect(lambda frame: (frames.append(frame), session.frame_consumed()))
    session.start()
    try:
        qtbot.waitUntil(lambda: len(infos) == 1, timeout=TIMEOUT)
        worker, busy = session.worker, threading.Event()
        send_frame, answer = worker._send_frame, worker._answer
        worker._send_frame = lambda running, picture=False: None  # the steps stay pending

        def holding(what):  # holds the worker until `busy` is set, the steps still pending
            busy.wait(TIMEOUT / 1000)
            result = answer(what)
            worker._send_frame, worker._answer = send_frame, answer
            return result
        worker._answer = holding
        session.step(3)
        qtbot.waitUntil(lambda: worker.trainer.step_count == 3, timeout=TIMEOUT)
        session.ask("probe", answers.append)
        for units in (3, 4):
            edit = copy.deepcopy(config)
            edit.architecture.hidden = [Layer(units, "tanh")]
            session.apply(edit)
            session.ask("probe", answers.append)  # sends the pending steps' frame
        busy.set()
        qtbot.waitUntil(lambda: len(answers) == 3, timeout=TIMEOUT)
        qtbot.wait(100)
    finally:
        session.shutdown()
    first = [frame for frame in frames if frame.run_id == infos[0].run_id]
    assert all(frame.first_layer is None or frame.first_layer.shape == (2, 8) for frame in first)
    assert any(frame.first_layer is not None and frame.first_layer.shape == (2, 3)
               for frame in frames if frame.run_id != infos[0].run_id)

