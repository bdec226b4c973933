"""Lesson 01: From ratings to the co-occurrence matrix, ``lessons/01_cooccurrence_matrix.ipynb``.

Everything this lesson calls beyond the core (data, interactions, similarity, classic, evaluate), ``models``
and ``ui``:

* ``exercises`` - the checks of the lesson's graded exercises (built on :mod:`ncf_helpers.checks`).
"""
