"""One package per lesson: ``lNN_<name>/`` holds everything lesson NN calls beyond the core, ``models`` and ``ui``.

``classic_plots`` holds the figures of lessons 01-03, which share most of them (see its docstring).
Importing this package imports none of the lessons.
"""

LESSON_PACKAGES = {
    "00": "l00_start_here",
    "01": "l01_cooccurrence",
    "02": "l02_user_based_cf",
    "03": "l03_matrix_factorization",
    "04": "l04_neuralcf",
    "05": "l05_two_tower",
    "06": "l06_comparison",
    "07": "l07_retrieval",
}
"""Lesson number (as in ``lessons/NN_*.ipynb``) -> its package under ``ncf_helpers.lessons``."""
