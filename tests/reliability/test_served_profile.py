"""``served_profile.py``'s parser: each perf sample is charged to its innermost Python frame."""

from __future__ import annotations

from served_profile import _charge, _owned, _short

SCRIPT = """\
 101
\t          1aa121 PyLong_AsLongAndOverflow
\t          111386 _PyEval_EvalFrameDefault
\t    7ff1f04c2cba py::Recorder.record:/srv/app/sli_instrument/_recorder.py
\t    7ff1f04c2d00 py::ASGIMiddleware.__call__:/srv/app/sli_instrument/asgi.py

 101
\t          114811 Py_INCREF (inlined)
\t    7ff1f04c3c1c py::wrap_app:/srv/lib/starlette/_exception_handler.py

 102
\tffffffff813a2413 finish_task_switch.isra.0
\t          108f36 epoll_wait
\t    7fcbd034b9e0 [unknown]

 101
\t    7ff1f04c2cba py::Recorder.record:/srv/app/sli_instrument/_recorder.py
"""


def test_each_sample_goes_to_its_innermost_python_function() -> None:
    counts = _charge(SCRIPT)
    assert counts == {
        "Recorder.record /srv/app/sli_instrument/_recorder.py": 2,
        "wrap_app /srv/lib/starlette/_exception_handler.py": 1,
        "[no Python frame] finish_task_switch.isra.0": 1,
    }
    assert sum(_owned(key, ("sli_instrument",)) for key in counts) == 1
    assert not _owned("wrap_app /srv/lib/not_sli_instrument/x.py", ("sli_instrument",))
    assert _short("Recorder.record /srv/app/sli_instrument/_recorder.py") == (
        "Recorder.record (_recorder.py)"
    )
    assert _short("[no Python frame] epoll_wait") == "[no Python frame] epoll_wait"


def test_frozen_modules_keep_their_name() -> None:
    counts = _charge(" 7\n\t    7f00 py::ABCMeta.__instancecheck__:<frozen abc>\n")
    assert counts == {"ABCMeta.__instancecheck__ <frozen abc>": 1}
    assert _short("ABCMeta.__instancecheck__ <frozen abc>") == (
        "ABCMeta.__instancecheck__ <frozen abc>"
    )
