"""Lesson 05: Two towers: compute item vectors once, retrieve in a millisecond, ``lessons/05_two_tower.ipynb``.

Everything this lesson calls beyond the core (data, interactions, similarity, classic, evaluate), ``models``
and ``ui``:

* ``experiments`` - the lesson's experiments (plain functions, no widgets);
* ``plots`` - the lesson's figures;
* ``exercises`` - the checks of the lesson's graded exercises (built on :mod:`ncf_helpers.checks`).
"""
