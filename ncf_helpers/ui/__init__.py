"""The UI pieces every lesson shares (no lesson code here):

* ``base`` - the explorer base class, result cache, progress bar and ``show_figure``;
* ``plots`` - the plot style: colours (Okabe-Ito), ``new_figure``, ``finish``, ``styled``, ``color_for``;
* ``course`` - the course-map figures of lesson 00 and the README.

Importing this package imports none of them (matplotlib and ipywidgets load with the module you import).
"""
