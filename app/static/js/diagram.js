/*
 * Smart Land: read-only BPMN diagram with progress markers.
 *
 * Markup:
 *   <div class="bpmn-diagram"
 *        data-xml-url="/cases/1/diagram.bpmn"
 *        data-completed='["start","accept"]'
 *        data-current='["county_review"]'
 *        data-error-text="流程图加载失败"></div>
 *
 * Requires the bpmn-js NavigatedViewer bundle (global `BpmnJS`) to be loaded first:
 *   static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js
 * plus diagram-js.css, bpmn-js.css, bpmn-font/css/bpmn.css and css/diagram.css.
 *
 * No dependencies. Runs on DOMContentLoaded; also exposes
 * window.SmartlandDiagram.render(element) / .renderAll(root) for content added later.
 */
(function () {
  'use strict';

  var DEFAULT_ERROR_TEXT = '流程图加载失败';
  var COMPLETED_MARKER = 'bpmn-completed';
  var CURRENT_MARKER = 'bpmn-current';

  function parseIdList(value) {
    if (!value) {
      return [];
    }
    try {
      var parsed = JSON.parse(value);
      return Array.isArray(parsed) ? parsed.filter(function (id) {
        return typeof id === 'string' && id.length > 0;
      }) : [];
    } catch (e) {
      return [];
    }
  }

  function showError(container, error) {
    var text = container.getAttribute('data-error-text') || DEFAULT_ERROR_TEXT;
    container.innerHTML = '';
    var message = document.createElement('p');
    message.className = 'bpmn-diagram__error';
    message.textContent = text;
    container.appendChild(message);
    container.classList.add('bpmn-diagram--error');
    container.setAttribute('data-state', 'error');
    if (window.console && error) {
      window.console.error('[diagram] ' + (container.getAttribute('data-xml-url') || ''), error);
    }
  }

  function addMarkers(viewer, ids, marker) {
    var registry = viewer.get('elementRegistry');
    var canvas = viewer.get('canvas');
    ids.forEach(function (id) {
      if (registry.get(id)) {          // ignore ids that are not in this diagram
        canvas.addMarker(id, marker);
      }
    });
  }

  function fit(viewer) {
    try {
      var canvas = viewer.get('canvas');
      var scale = canvas.zoom('fit-viewport', 'auto');
      // fit-viewport leaves no margin when it has to shrink the diagram; add a little.
      if (typeof scale === 'number' && isFinite(scale) && scale > 0 && scale < 1) {
        canvas.zoom(scale * 0.95);
      }
    } catch (e) {
      /* container not visible (e.g. hidden tab): nothing to fit */
    }
  }

  function render(container) {
    if (!container || container.getAttribute('data-state')) {
      return Promise.resolve(null);     // already rendered / in progress
    }
    container.setAttribute('data-state', 'loading');

    var url = container.getAttribute('data-xml-url');
    if (!url || typeof window.BpmnJS !== 'function' || typeof window.fetch !== 'function') {
      showError(container, new Error(url ? 'BpmnJS viewer not loaded' : 'data-xml-url missing'));
      return Promise.resolve(null);
    }

    var current = parseIdList(container.getAttribute('data-current'));
    var completed = parseIdList(container.getAttribute('data-completed')).filter(function (id) {
      return current.indexOf(id) === -1;   // an element both done and active (loops) shows as current
    });

    return window.fetch(url, {
      credentials: 'same-origin',
      headers: { 'Accept': 'application/xml, text/xml, */*' }
    }).then(function (response) {
      if (!response.ok) {
        throw new Error('HTTP ' + response.status);
      }
      return response.text();
    }).then(function (xml) {
      container.innerHTML = '';
      var viewer = new window.BpmnJS({ container: container });
      return viewer.importXML(xml).then(function () {
        fit(viewer);
        addMarkers(viewer, completed, COMPLETED_MARKER);
        addMarkers(viewer, current, CURRENT_MARKER);
        container.setAttribute('data-state', 'ready');
        container.bpmnViewer = viewer;
        return viewer;
      });
    }).catch(function (error) {
      showError(container, error);
      return null;
    });
  }

  function renderAll(root) {
    var nodes = (root || document).querySelectorAll('.bpmn-diagram');
    return Promise.all(Array.prototype.map.call(nodes, render));
  }

  // Re-fit rendered diagrams when the window size changes.
  var resizeTimer = null;
  window.addEventListener('resize', function () {
    window.clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(function () {
      var nodes = document.querySelectorAll('.bpmn-diagram[data-state="ready"]');
      Array.prototype.forEach.call(nodes, function (node) {
        if (node.bpmnViewer) {
          fit(node.bpmnViewer);
        }
      });
    }, 150);
  });

  window.SmartlandDiagram = { render: render, renderAll: renderAll };

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', function () { renderAll(document); });
  } else {
    renderAll(document);
  }
})();
