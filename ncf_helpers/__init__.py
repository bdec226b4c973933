"""Helpers for the neural collaborative filtering course.

Three floors, each importing only the ones below it (``[tool.importlinter]`` in ``pyproject.toml``, checked by
``make lint``):

* the core, TensorFlow-free and headless: ``common`` (one helper per mechanism: top-k, whole numbers, atomic
  writes, seeding, latency), ``data`` and ``registry``, then ``interactions``, ``similarity``, ``classic`` and
  ``evaluate``;
* ``models``: the Keras builders, the training loop, the adapter and the serving indexes;
* ``lessons/lNN_<name>/``: everything lesson NN calls beyond the core and ``models`` (experiments, figures,
  explorer, exercise checks), over the shared ``ui`` pieces and ``checks``.

``import ncf_helpers.data`` (lessons 01-03) never loads TensorFlow.
"""

import os as _os

# TensorFlow's C++ INFO/WARNING lines would otherwise appear as stderr output in the first cell a learner
# runs. Set before any TensorFlow import; a learner's own setting wins.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
