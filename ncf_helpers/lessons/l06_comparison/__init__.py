"""Lesson 06: Every model on one protocol: an honest comparison, ``lessons/06_comparison.ipynb``.

Everything this lesson calls beyond the core (data, interactions, similarity, classic, evaluate), ``models``
and ``ui``:

* ``experiments`` - the lesson's experiments (plain functions, no widgets);
* ``plots`` - the lesson's figures;
* ``explorer`` - the lesson's ipywidgets explorer and the plain functions behind it;
* ``exercises`` - the checks of the lesson's graded exercises (built on :mod:`ncf_helpers.checks`);
* ``recorded/`` - recorded results (numbers only) the lesson reads, written by ``benchmarks/``.
"""
