"""Checks for the lessons' exercises (one module per lesson: ``lesson01``, ``lesson02``, ...).

Every graded exercise in a lesson is a function the learner completes between nbgrader's
``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers, followed by a cell such as
``ex.check_density(density_of)``. A check:

* prints a short confirmation when the answer is right (and returns ``True``);
* raises :class:`ExerciseIncomplete` when the function still raises ``NotImplementedError`` (the student copy's
  stub), saying where to write the code;
* raises :class:`ExerciseIncorrect` with what was expected, what came back, and a hint, when it is wrong.

Both errors subclass ``AssertionError`` so nbgrader and pytest treat them as failed checks: in nbgrader the check
cell is an autograder test (``python -m ncf_helpers.assignments tag``), and an error in it scores 0 points while
the learner still sees the hint.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

__all__ = ["ExerciseIncomplete", "ExerciseIncorrect", "Passed", "exercise", "expect", "expect_close", "number"]


class ExerciseIncomplete(AssertionError):
    """The exercise still holds the stub (``raise NotImplementedError``)."""


class ExerciseIncorrect(AssertionError):
    """The answer ran but is not right; the message says why and gives a hint."""


class Passed:
    """What a check returns when the answer is right: true in ``assert check(...)``, and nothing in a notebook
    (the check has already printed its "correct." line; a bare ``True`` under it would be noise)."""

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return "Passed()"

    def _ipython_display_(self) -> None:  # IPython shows nothing for a passed check
        pass


def exercise(number: str, title: str) -> Callable:
    """Decorator for check functions: turns the learner's ``NotImplementedError`` into :class:`ExerciseIncomplete`,
    prefixes messages with the exercise number and prints a confirmation on success."""

    def wrap(check):
        @functools.wraps(check)
        def run(*args, **kwargs):
            try:
                message = check(*args, **kwargs)
            except NotImplementedError:
                raise ExerciseIncomplete(
                    f"Exercise {number} ({title}) is not done yet: your function still raises NotImplementedError. "
                    "Replace the `raise NotImplementedError` line under '# YOUR CODE HERE' with your code, run that "
                    "cell, then run this check again."
                ) from None
            except ExerciseIncorrect as exc:
                raise ExerciseIncorrect(f"Exercise {number} ({title}): {exc}") from None
            print(f"Exercise {number} ({title}): correct." + (f" {message}" if message else ""))
            return Passed()

        run.exercise_number = number
        return run

    return wrap


def expect_close(got, expected, what: str, hint: str = "", rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """Raise :class:`ExerciseIncorrect` unless ``got`` is numerically close to ``expected`` (same shape)."""
    g = np.asarray(got, dtype=float) if got is not None else None
    e = np.asarray(expected, dtype=float)
    if g is None:
        raise ExerciseIncorrect(f"{what}: your function returned None. Did you forget a `return`? {hint}".strip())
    if g.shape != e.shape:
        raise ExerciseIncorrect(f"{what}: expected shape {e.shape}, got {g.shape}. {hint}".strip())
    if not np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True):
        shown_g, shown_e = _show(g), _show(e)
        raise ExerciseIncorrect(f"{what}: expected {shown_e}, got {shown_g}. {hint}".strip())


def _show(a: np.ndarray) -> str:
    return f"{float(a):.6g}" if a.ndim == 0 else np.array2string(a, precision=4, threshold=8)


def number(value, what: str) -> float:
    """``value`` as a float, or :class:`ExerciseIncorrect` saying what came back instead (``None``: a forgotten
    ``return``; a list or array: not a single number)."""
    if value is None:
        raise ExerciseIncorrect(f"{what}: your function returned None. Did you forget a `return`?")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ExerciseIncorrect(f"{what}: expected a single number, got {type(value).__name__} {value!r}.") from None


def expect(condition: bool, message: str) -> None:
    """Raise :class:`ExerciseIncorrect` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise ExerciseIncorrect(message)
