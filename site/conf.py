"""Sphinx configuration of the course site (built by ``site/build.py``; see its docstring).

Sphinx + myst-nb + sphinx-book-theme: myst-nb renders executed notebooks as they are (every figure, table and
printed line, and the widgets' saved state), the book theme gives the left sidebar in toctree (course) order, and
all three are pip packages: ``make venv`` installs them, the build needs no Node.js and no network. The
JavaScript the pages load (MathJax, require.js, the widget manager) is served from ``_static/vendor``.
"""

project = "Neural collaborative filtering: an interactive course"
author = "The course authors"
copyright = "the course authors (MIT licence)"

extensions = ["myst_nb"]
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# The notebooks arrive executed (site/build.py): never run them here.
nb_execution_mode = "off"
nb_merge_streams = True
# A widget's output carries a widget view (drawn from the saved state by html-manager) and a text/plain repr such
# as "Output()": myst-nb's default priorities put the widget view first for html, so the repr is never shown.

# Offline: everything below is served from _static/vendor (site/vendor.py, sha256 manifest), never a CDN.
mathjax_path = "vendor/mathjax/tex-svg-full.js"
nb_ipywidgets_js = {
    "vendor/requirejs/require.js": {},
    "ncf-widgets.js": {},  # points require.js at the vendored widget files; MathJax 2 shim for ipywidgets
    "vendor/html-manager/embed-amd.js": {},
}

html_theme = "sphinx_book_theme"
html_title = "NCF course"
html_static_path = ["_static"]
html_favicon = "_static/favicon.png"  # a 3x3 interaction matrix; without one, browsers ask for /favicon.ico (404)
html_css_files = ["course.css"]
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
}
html_last_updated_fmt = None
# The download button offers the executed notebook (_sources/), to open in JupyterLab.
html_copy_source = True
html_show_sourcelink = False

exclude_patterns = ["_build", "**.ipynb_checkpoints"]
suppress_warnings = ["myst.header"]
html_context = {"default_mode": "light"}
