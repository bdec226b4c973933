/* Loaded between require.js and @jupyter-widgets/html-manager's embed-amd.js on pages with saved widgets
   (site/conf.py, nb_ipywidgets_js). Two fixes so the saved widgets render offline and without errors:

   1. embed-amd.js finds its Font Awesome files relative to the AMD module ids "@jupyter-widgets/..." (resolved
      from the page's folder by default, where nothing is): map those ids to the vendored copy next to this file.
   2. ipywidgets' typeset() calls the MathJax 2 API (MathJax.Hub.Queue); the site loads MathJax 3. Provide that
      one call on top of MathJax 3 (typesetPromise), before and after MathJax's start-up. */
(function () {
  var here = document.currentScript.src.replace(/[^\/]*$/, "");
  var vendor = here + "vendor/html-manager";
  window.require.config({
    paths: {"@jupyter-widgets/html-manager/dist": vendor, "@jupyter-widgets": vendor}
  });

  var hub = {
    Queue: function () {
      var mj = window.MathJax;
      for (var i = 0; i < arguments.length; i++) {
        var job = arguments[i];
        if (mj && mj.typesetPromise && Array.isArray(job) && job[0] === "Typeset") {
          mj.typesetPromise(job[2] ? [job[2]] : undefined).catch(function () {});
        }
      }
    }
  };
  var mathjaxOnPage = document.querySelector('script[src*="vendor/mathjax/"]') !== null;
  if (!mathjaxOnPage) {
    return;  // no maths here: window.MathJax stays undefined and ipywidgets skips typesetting
  }
  var mj = window.MathJax;
  if (mj === undefined) {
    mj = window.MathJax = {};
  }
  if (!mj.version) {
    // MathJax 3 is not loaded yet (deferred): window.MathJax is its configuration (myst's, or ours). Until it
    // loads, typeset() finds the shim here; MathJax moves this object to MathJax.config, so the ready hook puts
    // the shim back on the loaded MathJax.
    mj.Hub = hub;
    mj.startup = mj.startup || {};
    var ready = mj.startup.ready;
    mj.startup.ready = function () {
      if (ready) { ready(); } else { window.MathJax.startup.defaultReady(); }
      window.MathJax.Hub = hub;
    };
  } else if (!mj.Hub) {
    mj.Hub = hub;
  }
})();
