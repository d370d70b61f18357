/* Service change page: tabs (Service / Documentation) and mermaid diagrams drawn in the page.
 * The documentation HTML is sanitised on the server; mermaid runs with securityLevel "strict"
 * (labels escaped, no click handlers). Diagrams are drawn when their tab is first shown, because
 * mermaid cannot measure text inside a hidden element. */
(function () {
  "use strict";

  function drawDiagrams(panel) {
    if (!window.mermaid) {
      return;
    }
    var nodes = panel.querySelectorAll("pre.mermaid:not([data-processed])");
    if (nodes.length) {
      window.mermaid.run({nodes: Array.prototype.slice.call(nodes)}).catch(function (error) {
        console.error("mermaid:", error);
      });
    }
  }

  function showTab(name) {
    document.querySelectorAll("[data-service-tab]").forEach(function (tab) {
      var selected = tab.getAttribute("data-service-tab") === name;
      tab.classList.toggle("selected", selected);
      tab.setAttribute("aria-selected", selected ? "true" : "false");
    });
    document.querySelectorAll("[data-service-panel]").forEach(function (panel) {
      panel.hidden = panel.getAttribute("data-service-panel") !== name;
      if (!panel.hidden) {
        drawDiagrams(panel);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (window.mermaid) {
      window.mermaid.initialize({startOnLoad: false, securityLevel: "strict"});
    }
    var tabs = Array.prototype.slice.call(document.querySelectorAll("[data-service-tab]"));
    if (!tabs.length) {
      return;
    }
    tabs.forEach(function (tab) {
      tab.addEventListener("click", function (event) {
        event.preventDefault();
        var name = tab.getAttribute("data-service-tab");
        showTab(name);
        history.replaceState(null, "", "#" + name);
      });
    });
    var wanted = window.location.hash.slice(1);
    var known = tabs.some(function (tab) { return tab.getAttribute("data-service-tab") === wanted; });
    showTab(known ? wanted : tabs[0].getAttribute("data-service-tab"));
  });
})();
