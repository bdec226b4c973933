"""Lesson 03: Matrix factorization: users and items as vectors, ``lessons/03_matrix_factorization.ipynb``.

Everything this lesson calls beyond the core (data, interactions, similarity, classic, evaluate), ``models``
and ``ui``:

* ``exercises`` - the checks of the lesson's graded exercises (built on :mod:`ncf_helpers.checks`);
* ``explorer`` - the lesson's ipywidgets explorer and the plain functions behind it.
"""
