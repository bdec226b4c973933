"""ncf_helpers.nbrun's kernel client: its channels poll in short slices, and run_lesson executes lessons with it.

Under load a ``zmq.asyncio`` poll sometimes misses the wake-up for a message that has already arrived; nbclient waits
for a cell's reply with one poll as long as the cell time-out, so one missed wake-up froze a lesson test for minutes.
These tests simulate the missed wake-up on a real zmq socket (the first poll ignores the message) and check that
:class:`~ncf_helpers.nbrun.SlicedChannel` still returns the message within a slice, keeps ``get_msg``'s time-out
contract, and is what :func:`~ncf_helpers.nbrun.run_lesson` (and nbgrader, through the course's config) uses.
"""

from __future__ import annotations

import asyncio
import time
from queue import Empty

import pytest
import zmq
import zmq.asyncio
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.session import Session

from ncf_helpers import nbrun
from ncf_helpers.nbrun import SLICE_SECONDS, SlicedChannel, SlicedKernelClient, SlicedKernelManager


class MissesFirstWakeUp(zmq.asyncio.Socket):
    """A real zmq socket whose first poll misses the wake-up: it waits its whole time-out and reports nothing."""

    missed = False

    async def poll(self, timeout=None, flags=zmq.POLLIN):
        if not self.missed:
            self.missed = True
            await asyncio.sleep(0 if timeout is None else timeout / 1000)
            return 0
        return await super().poll(timeout, flags)


async def _pair(receiver_class=zmq.asyncio.Socket):
    """(context, sender, receiver): a connected inproc PAIR; the receiver is an instance of ``receiver_class``."""
    ctx = zmq.asyncio.Context()
    address = f"inproc://nbrun-test-{time.monotonic_ns()}"
    receiver = receiver_class(ctx, zmq.PAIR)
    receiver.bind(address)
    sender = ctx.socket(zmq.PAIR)
    sender.connect(address)
    return ctx, sender, receiver


def _close(ctx, *sockets):
    for s in sockets:
        s.close(linger=0)
    ctx.term()


async def _send(sender, session, text):
    await sender.send_multipart(session.serialize(session.msg("stream", {"name": "stdout", "text": text})))


def test_a_missed_wake_up_costs_a_slice_not_the_time_out():
    session = Session(key=b"test")

    async def main():
        # jupyter_client's channel: the message is there, but a missed wake-up makes get_msg report none
        ctx, sender, receiver = await _pair(MissesFirstWakeUp)
        await _send(sender, session, "hello")
        await asyncio.sleep(0.05)
        with pytest.raises(Empty):
            await AsyncZMQSocketChannel(receiver, session).get_msg(timeout=0.3)
        _close(ctx, sender, receiver)

        # ours: the next slice's poll sees the message, long before the time-out (nbclient passes minutes)
        ctx, sender, receiver = await _pair(MissesFirstWakeUp)
        await _send(sender, session, "hello")
        await asyncio.sleep(0.05)
        start = time.monotonic()
        msg = await SlicedChannel(receiver, session).get_msg(timeout=60)
        waited = time.monotonic() - start
        _close(ctx, sender, receiver)
        return msg, waited

    msg, waited = asyncio.run(main())
    assert msg["content"]["text"] == "hello"
    assert waited < SLICE_SECONDS + 5  # one missed slice (0.5 s) plus slack for a loaded machine; not 60 s


def test_sliced_get_msg_keeps_the_time_out_contract():
    session = Session(key=b"test")

    async def main():
        ctx, sender, receiver = await _pair()
        channel = SlicedChannel(receiver, session)
        out = {}
        start = time.monotonic()
        with pytest.raises(Empty):  # no message: Empty once the time-out has passed, not after the first slice
            await channel.get_msg(timeout=1.3)
        out["empty_after"] = time.monotonic() - start
        start = time.monotonic()
        with pytest.raises(Empty):
            await channel.get_msg(timeout=0)
        out["zero_after"] = time.monotonic() - start

        async def later():
            await asyncio.sleep(1.3)
            await _send(sender, session, "late")

        task = asyncio.ensure_future(later())
        start = time.monotonic()
        out["msg"] = await channel.get_msg(timeout=None)  # None waits past many slices for the message
        out["none_after"] = time.monotonic() - start
        await task
        await _send(sender, session, "ready")  # a message already there is returned at once
        await asyncio.sleep(0.05)
        out["ready"] = await channel.get_msg(timeout=30)
        _close(ctx, sender, receiver)
        return out

    out = asyncio.run(main())
    assert 1.3 <= out["empty_after"] < 1.3 + 3
    assert out["zero_after"] < 1
    assert out["msg"]["content"]["text"] == "late" and out["none_after"] >= 1.2
    assert out["ready"]["content"]["text"] == "ready"


def test_the_kernel_manager_hands_out_sliced_channels():
    kc = SlicedKernelManager(kernel_name="python3").client()
    assert isinstance(kc, SlicedKernelClient)
    for name in ("shell", "iopub", "stdin", "control"):
        assert issubclass(getattr(kc, f"{name}_channel_class"), SlicedChannel), name


def test_run_lesson_executes_with_the_sliced_kernel_client(tmp_path, monkeypatch):
    """run_lesson gives nbclient SlicedKernelManager (the kernel itself is not started here: see test_notebooks)."""
    import nbclient
    import nbformat

    seen = {}

    def execute(self, **kwargs):
        seen["client"] = self
        return self.nb

    monkeypatch.setattr(nbclient.NotebookClient, "execute", execute)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("FAST = False", metadata={"tags": ["parameters"]})]
    nbformat.write(nb, tmp_path / "99_probe.ipynb")
    nbrun.run_lesson(tmp_path / "99_probe.ipynb", {"FAST": True}, workdir=tmp_path / "run")
    client = seen["client"]
    assert client.kernel_manager_class is SlicedKernelManager
    assert isinstance(client.create_kernel_manager().client(), SlicedKernelClient)


def test_nbgrader_kernels_get_the_sliced_kernel_client(tmp_path):
    """The course's nbgrader_config.py reaches the kernel manager nbgrader's Execute preprocessor creates."""
    pytest.importorskip("nbgrader", reason="nbgrader not installed (instructor extra)")
    import nbformat
    from nbgrader.preprocessors import Execute
    from traitlets.config.loader import PyFileConfigLoader

    from ncf_helpers.assignments import nbgrader_config

    (tmp_path / "nbgrader_config.py").write_text(nbgrader_config(tmp_path))
    config = PyFileConfigLoader("nbgrader_config.py", path=str(tmp_path)).load_config()
    execute = Execute(config=config)
    execute.nb = nbformat.v4.new_notebook()
    execute.kernel_name = "python3"
    assert isinstance(execute.create_kernel_manager().client(), SlicedKernelClient)
