"""Lesson 00: Start here, ``lessons/00_start_here.ipynb``.

Everything this lesson calls beyond the core (data, interactions, similarity, classic, evaluate), ``models``
and ``ui``:

* ``exercises`` - the checks of the lesson's graded exercises (built on :mod:`ncf_helpers.checks`).
"""
