"""Lesson 07: Retrieval: train the towers on the whole catalogue, serve them from an index, ``lessons/07_retrieval.ipynb``.

Everything this lesson calls beyond the core (data, interactions, similarity, classic, evaluate), ``models``
and ``ui``:

* ``experiments`` - the lesson's experiments (plain functions, no widgets);
* ``plots`` - the lesson's figures;
* ``exercises`` - the checks of the lesson's graded exercises (built on :mod:`ncf_helpers.checks`);
* ``recorded/`` - recorded results (numbers only) the lesson reads, written by ``benchmarks/``.
"""
