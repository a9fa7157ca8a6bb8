// Certificate pages: the counter's print button, and the live progress of a rendering batch.
(function () {
  document.querySelectorAll("[data-print-frame]").forEach(function (button) {
    button.addEventListener("click", function () {
      var frame = document.getElementById(button.dataset.printFrame);
      frame.contentWindow.focus();
      frame.contentWindow.print();
    });
  });

  var job = document.querySelector("[data-testid=render-job]");
  if (!job) return;
  var bar = job.querySelector("progress");
  function field(name) { return job.querySelector("[data-field=" + name + "]"); }
  function poll() {
    fetch(job.dataset.url, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (state) {
        bar.max = state.total || 1;
        bar.value = state.done + state.failed;
        field("done").textContent = state.done;
        field("total").textContent = state.total;
        field("failed").textContent = state.failed;
        var list = job.querySelector("[data-testid=job-failures]");
        list.textContent = "";
        state.failures.forEach(function (f) {
          var item = document.createElement("li");
          item.textContent = f.number + ": " + f.error;
          list.appendChild(item);
        });
        if (state.finished) {
          field("state").textContent = field("state").dataset.finishedText;
        } else {
          setTimeout(poll, 1000);
        }
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  poll();
})();
