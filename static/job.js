/* The page of a job under way (queued or running) shows its progress anew every few
   seconds: the page is fetched again and its job part swapped in, until the job is over.
   A static file, since the Content-Security-Policy allows no inline script; without
   script, the page's <noscript> refresh does the same. */
"use strict";
(function () {
  var job = document.getElementById("job");
  if (!job || !job.dataset.refresh) {
    return;
  }
  var delay = Math.max(1, Number(job.dataset.refresh) || 2) * 1000;

  function swap(fresh) {
    // The status line is a live region: it stays and only its content changes, so a screen
    // reader announces the new state.
    var status = document.getElementById("job-state");
    var freshStatus = fresh.querySelector("#job-state");
    if (status && freshStatus) {
      if (status.innerHTML !== freshStatus.innerHTML) {
        status.innerHTML = freshStatus.innerHTML;
      }
      freshStatus.replaceWith(status);
    }
    job.replaceChildren.apply(job, Array.prototype.slice.call(fresh.childNodes));
    if (fresh.dataset.refresh) {
      window.setTimeout(update, delay);
    } else {
      delete job.dataset.refresh;
    }
  }

  function update() {
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("job");
        if (fresh) {
          swap(fresh);
        }
      })
      .catch(function () {
        window.setTimeout(update, delay * 3); // the server restarting, a network hiccup
      });
  }

  window.setTimeout(update, delay);
})();
