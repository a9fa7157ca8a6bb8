// Archive pages: "choose all" on the intake queue, the report's print button, and the live progress
// of a filing batch (polled as JSON until it finishes).
(function () {
  document.querySelectorAll("[data-check-all]").forEach(function (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("input[type=checkbox][name='" + all.dataset.checkAll + "']").forEach(function (box) {
        box.checked = all.checked;
      });
    });
  });

  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  var batch = document.querySelector("[data-testid=filing-batch]");
  if (!batch) return;
  var bar = batch.querySelector("progress");
  var rows = batch.querySelector("[data-testid=batch-items] tbody");
  function field(name) { return batch.querySelector("[data-field=" + name + "]"); }
  function cell(content) {
    var td = document.createElement("td");
    if (content) td.appendChild(content);
    return td;
  }
  function link(href, text, testid, className) {
    var a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    if (testid) a.dataset.testid = testid;
    if (className) a.className = className;
    return a;
  }
  function render(state) {
    bar.max = state.total || 1;
    bar.value = state.done + state.failed;
    field("done").textContent = state.done;
    field("total").textContent = state.total;
    field("failed").textContent = state.failed;
    rows.textContent = "";
    state.items.forEach(function (item) {
      var tr = document.createElement("tr");
      tr.dataset.caseNo = item.case_no;
      tr.dataset.state = item.state;
      tr.appendChild(cell(link(item.case_url, item.case_no)));
      tr.appendChild(cell(document.createTextNode(item.state_label)));
      tr.appendChild(cell(item.record_url ? link(item.record_url, item.archival_code, "archival-code", "code") : null));
      var error = cell(document.createTextNode(item.error || ""));
      error.className = "error";
      tr.appendChild(error);
      rows.appendChild(tr);
    });
    if (state.finished) {
      field("state").textContent = field("state").dataset.finishedText;
      batch.dataset.finished = "true";
    }
  }
  function poll() {
    fetch(batch.dataset.url, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (state) {
        render(state);
        if (!state.finished) setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  if (batch.dataset.finished !== "true") poll();
})();
