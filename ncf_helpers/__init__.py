"""Helpers for the neural collaborative filtering course.

The package follows the course's arc, one module per concept (see ``ARCHITECTURE.md`` in the repository):

``data`` -> ``interactions`` -> ``similarity`` -> ``classic`` -> ``evaluate`` -> ``models`` -> ``plots``
-> ``widgets`` -> ``exercises`` / ``student``.

Nothing above ``models`` imports TensorFlow, so ``import ncf_helpers.data`` (lessons 01-03) is fast.
"""

import os as _os

# TensorFlow's C++ INFO/WARNING lines would otherwise appear as stderr output in the first cell a learner
# runs. Set before any TensorFlow import; a learner's own setting wins.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
