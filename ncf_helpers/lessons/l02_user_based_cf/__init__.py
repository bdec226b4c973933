"""Lesson 02: User-based collaborative filtering, and how to measure a recommender, ``lessons/02_user_based_cf.ipynb``.

Everything this lesson calls beyond the core (data, interactions, similarity, classic, evaluate), ``models``
and ``ui``:

* ``exercises`` - the checks of the lesson's graded exercises (built on :mod:`ncf_helpers.checks`);
* ``explorer`` - the lesson's ipywidgets explorer and the plain functions behind it.
"""
