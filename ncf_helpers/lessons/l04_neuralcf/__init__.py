"""Lesson 04: NeuralCF: learning the interaction, ``lessons/04_neuralcf.ipynb``.

Everything this lesson calls beyond the core (data, interactions, similarity, classic, evaluate), ``models``
and ``ui``:

* ``experiments`` - the lesson's experiments (plain functions, no widgets);
* ``plots`` - the lesson's figures;
* ``explorer`` - the lesson's ipywidgets explorer and the plain functions behind it;
* ``explorer_plots`` - the explorer's views (also drawn once without widgets by the lesson);
* ``exercises`` - the checks of the lesson's graded exercises (built on :mod:`ncf_helpers.checks`).
"""
