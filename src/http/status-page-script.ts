/**
 * The status page's script, run by the browser (inline, allowed by its hash in the page's CSP).
 * It fetches /status and /status/servers every REFRESH_MS and rebuilds the page with DOM APIs:
 * every value goes in through `textContent` (never innerHTML: the CSP's Trusted Types rule makes
 * HTML sinks throw), after control, bidi and zero-width characters were made visible as `\uXXXX`.
 * Plain ES2020 in a string, no template literals inside (this file wraps it in one).
 */
export const STATUS_PAGE_SCRIPT = String.raw`"use strict";
(function () {
  var REFRESH_MS = 3000;
  var INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\ufff9-\ufffb]/g;
  var refreshes = 0;

  function visible(value) {
    var text = value === null || value === undefined ? "" : String(value);
    return text.replace(INVISIBLE, function (c) { return "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"); });
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = visible(text);
    return e;
  }
  function cell(content, cls) {
    var td = el("td", cls);
    if (content instanceof Node) td.append(content); else td.textContent = visible(content);
    return td;
  }
  function table(headers, rows, empty) {
    if (rows.length === 0) return el("p", "empty", empty);
    var t = el("table");
    var head = el("tr");
    headers.forEach(function (h) { head.append(el("th", "", h)); });
    t.append(el("thead"));
    t.tHead.append(head);
    var body = el("tbody");
    rows.forEach(function (r) { body.append(r); });
    t.append(body);
    return t;
  }
  function row(cells, cls) {
    var tr = el("tr", cls);
    cells.forEach(function (c) { tr.append(c instanceof HTMLTableCellElement ? c : cell(c)); });
    return tr;
  }
  function badge(text, kind) { return el("span", "badge " + kind, text); }
  function when(iso) { return iso ? String(iso).replace("T", " ").replace(/\.\d+Z$/, "Z") : "never"; }
  function ago(iso, now) {
    if (!iso) return "never";
    var s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
    return s < 120 ? s + " s ago" : s < 7200 ? Math.round(s / 60) + " min ago" : Math.round(s / 3600) + " h ago";
  }
  function fill(id, nodes) {
    var target = document.getElementById(id);
    if (target) target.replaceChildren.apply(target, nodes);
  }
  function pairs(list) {
    var dl = el("dl");
    list.forEach(function (p) {
      dl.append(el("dt", "", p[0]));
      var dd = el("dd");
      if (p[1] instanceof Node) dd.append(p[1]); else dd.textContent = visible(p[1]);
      dl.append(dd);
    });
    return dl;
  }
  function list(items, empty) {
    if (items.length === 0) return el("p", "empty", empty);
    var ul = el("ul");
    items.forEach(function (i) { ul.append(el("li", "", i)); });
    return ul;
  }
  function stateBadge(server) {
    if (!server) return badge("not in HAProxy", "unknown");
    return badge(server.state === "UP" || server.status === server.state ? server.state : server.state + " (" + server.status + ")",
      server.state.toLowerCase());
  }

  // What is not right, worst first: [severity ("bad" or "watch"), short label, detail].
  function problemsOf(doc, live) {
    var out = [];
    if (!doc.alive) out.push(["bad", "not alive", "Not alive: " + doc.aliveReason]);
    if (!doc.ready) out.push(["bad", "not ready", "Not ready: " + doc.readyReason]);
    var servers = new Map();
    (live.backends || []).forEach(function (b) {
      b.servers.forEach(function (s) { servers.set(b.backend + "/" + s.server, s); });
    });
    var down = [];
    var backupsOnly = [];
    var nothing = [];
    doc.routes.forEach(function (r) {
      if (r.instances.length === 0) {
        nothing.push("Route " + r.route + " has no instance: it answers 503");
        return;
      }
      if (!live.available) return;
      var activeUp = 0;
      var backupUp = 0;
      r.instances.forEach(function (i) {
        var s = servers.get(r.backend + "/" + i.server);
        if (s && s.state === "DOWN") {
          down.push("Instance " + i.id + " of " + r.route + " (" + i.address + ":" + i.port + ") is DOWN" +
            (s.check ? ": check " + s.check : "") + (s.lastChangeSeconds !== null ? ", for " + s.lastChangeSeconds + " s" : ""));
        }
        var serving = s && s.state === "UP" && s.weight !== 0;
        if (serving && i.backup) backupUp++;
        if (serving && !i.backup) activeUp++;
      });
      if (activeUp === 0 && backupUp > 0) {
        backupsOnly.push("Route " + r.route + " is served only by backups (other zones' instances): none of its own is up");
      } else if (activeUp === 0 && backupUp === 0) {
        nothing.push("Route " + r.route + " is served by nothing: no instance is up in HAProxy, it answers 503");
      }
    });
    if (down.length > 0) out.push(["bad", down.length === 1 ? "1 instance DOWN" : down.length + " instances DOWN", down]);
    if (nothing.length > 0) out.push(["bad", nothing.length === 1 ? "1 route served by nothing" : nothing.length + " routes served by nothing", nothing]);
    if (backupsOnly.length > 0) {
      out.push(["watch", backupsOnly.length === 1 ? "1 route only on backups" : backupsOnly.length + " routes only on backups", backupsOnly]);
    }
    if (!live.available) out.push(["watch", "HAProxy's live state unknown", "HAProxy's live state is not available: " + (live.error || "unknown")]);
    if (doc.pending !== null) {
      out.push(["bad", "a change pending", "A change could not be applied since " + when(doc.pending.since) + " (" + doc.pending.stage + "): " +
        doc.pending.error]);
    }
    doc.degradedReasons.forEach(function (d) { out.push(["watch", "degraded", "Degraded: " + d]); });
    if (doc.changeFeed && doc.changeFeed.state === "unavailable") {
      out.push(["watch", "change feed unavailable", "The change feed is unavailable (" + doc.changeFeed.problem + "): revision polling meanwhile"]);
    }
    if (doc.quarantined.length > 0) {
      out.push(["watch", plural(doc.quarantined.length, "quarantined record"), plural(doc.quarantined.length, "Cloud Map record") +
        " left out of routing (see Quarantined records)"]);
    }
    if (doc.ignoredOptions.length > 0) {
      out.push(["watch", plural(doc.ignoredOptions.length, "ignored option"), plural(doc.ignoredOptions.length, "routing option") +
        " ignored (see Ignored options)"]);
    }
    return out;
  }

  function renderAttention(doc, live) {
    var problems = problemsOf(doc, live);
    var items = [];
    problems.forEach(function (p) {
      (Array.isArray(p[2]) ? p[2] : [p[2]]).forEach(function (text) { items.push(el("li", p[0], text)); });
    });
    if (items.length === 0) {
      fill("attention", [el("p", "empty", "Nothing: every route is served by its own instances, nothing is pending or left out.")]);
    } else {
      var ul = el("ul");
      items.forEach(function (i) { ul.append(i); });
      fill("attention", [ul]);
    }
    return problems;
  }

  function renderSummary(doc, live, now) {
    var problems = renderAttention(doc, live);
    var up = 0;
    (live.backends || []).forEach(function (b) { b.servers.forEach(function (s) { if (s.state === "UP") up++; }); });
    var line = problems.length === 0
      ? [badge("all good", "up"), el("span", "meta", plural(doc.routes.length, "route") + (live.available ? ", " + up + " instances UP" : ""))]
      : [badge(problems.length === 1 ? "1 problem" : problems.length + " problems", problems.some(function (p) { return p[0] === "bad"; }) ? "down" : "drain"),
        el("span", "", problems.map(function (p) { return p[1]; }).join(" · "))];
    fill("summary", line.concat([
      badge(doc.ready ? "ready" : "not ready", doc.ready ? "up" : "down"),
      badge(doc.degraded ? "degraded" : "not degraded", doc.degraded ? "drain" : "up"),
      badge(doc.alive ? "alive" : "not alive", doc.alive ? "up" : "down"),
      el("span", "meta", "version " + doc.version + " · APPLY_MODE=" + doc.applyMode + " · started " + ago(doc.startedAt, now) +
        (doc.ready ? "" : " · " + doc.readyReason))
    ]));
  }

  function plural(n, noun) { return n + " " + noun + (n === 1 ? "" : "s"); }
  function changeFeed(feed, now) {
    if (!feed || feed.state === "off") return "off (revision polling)";
    var shown = el("span");
    if (feed.state === "active") {
      shown.append(badge("active", "up"));
      var r = feed.lastRound;
      if (r) {
        shown.append(document.createTextNode(visible(" — last round " + ago(r.at, now) + ": " + plural(r.pages, "page") + ", " +
          plural(r.operations, "operation") + ", " + r.new + " new, " + plural(r.services, "service") + " read" +
          (r.checkedAll ? ", every revision checked" : ""))));
      }
      if (feed.resumed) {
        shown.append(document.createTextNode(visible("; resumed listing since " + when(feed.resumed.since) +
          (feed.resumed.caughtUp ? "" : ", catching up"))));
      }
      return shown;
    }
    shown.append(badge("unavailable", "drain"));
    shown.append(document.createTextNode(visible(" — " + feed.problem + ": " + feed.detail + ", retry at " + when(feed.retryAt) +
      "; revision polling meanwhile")));
    return shown;
  }

  function renderCloudMap(doc, now) {
    var last = doc.lastRefresh;
    var polling = doc.polling;
    var health = last === null ? badge("not read yet", "unknown")
      : last.ok ? badge("ok", "up") : badge("failing: " + (last.error || "no answer"), "down");
    fill("cloudmap", [
      pairs([
        ["Read health", health],
        ["Change feed", changeFeed(doc.changeFeed, now)],
        ["Last good read", doc.lastSuccessfulRefresh ? ago(doc.lastSuccessfulRefresh, now) + " (" + when(doc.lastSuccessfulRefresh) + ")" : "never"],
        ["Last round", last === null ? "none" : last.kind + " read, " + last.durationMs + " ms, " + ago(last.at, now)],
        ["Calls per minute", polling === null ? "not measured yet" : String(polling.callsPerMinute)],
        ["Services", polling === null ? "-" : polling.services + " (checked every " + polling.checkIntervalSeconds + " s, read every " + polling.refreshIntervalSeconds + " s)"],
        ["Services not read", String(doc.cloudMapErrors.length)]
      ]),
      el("h3", "", "Degraded reasons"),
      list(doc.degradedReasons, "none"),
      el("h3", "", "Namespaces"),
      table(["Namespace", "Domain", "Mode", "Found", "Read", "Problem"], doc.namespaces.map(function (n) {
        return row([n.namespace, n.domain, n.mode, n.found ? "yes" : "no", n.read ? "yes" : "no", n.error || ""]);
      }), "no namespace mapped"),
      el("h3", "", "Polling problems"),
      list(polling === null ? [] : polling.problems, "none"),
      el("h3", "", "Changes held back (anti-flap)"),
      table(["Namespace", "Service", "Held", "Reason"], doc.suppressedChanges.map(function (s) {
        return row([s.namespace, s.service, String(s.held), s.reason]);
      }), "none")
    ]);
  }

  function renderRoutes(doc, live) {
    var backends = new Map();
    (live.backends || []).forEach(function (b) { backends.set(b.backend, b); });
    var rows = [];
    doc.routes.forEach(function (r) {
      var lb = backends.get(r.backend);
      var first = true;
      var lead = function () {
        var cells = first ? [cell(r.route, "route"), cell(r.backend, "mono")] : [cell(""), cell("")];
        first = false;
        return cells;
      };
      if (r.instances.length === 0) {
        rows.push(row(lead().concat([cell("no instances: the route answers 503", "empty")]), "group"));
        return;
      }
      r.instances.forEach(function (i, n) {
        var ls = lb ? lb.servers.find(function (s) { return s.server === i.server; }) : undefined;
        var liveCells = live.available
          ? [cell(stateBadge(ls)), cell(ls && ls.weight !== null ? String(ls.weight) : "-"), cell(ls ? String(ls.sessions) : "-"), cell(ls && ls.check ? ls.check : "-")]
          : [cell("-"), cell("-"), cell("-"), cell("-")];
        rows.push(row(lead().concat([
          cell(i.id + (i.backup ? " (backup)" : "")), cell(i.address + ":" + i.port, "mono"), cell(i.health || "-"), cell(i.zone || "-")
        ], liveCells), n === 0 ? "group" : ""));
      });
    });
    fill("routes", [
      live.available ? el("p", "meta", "HAProxy's live state as of " + when(live.at))
        : el("p", "warn", "HAProxy's live state is not available: " + (live.error || "unknown")),
      table(["Route", "Backend", "Instance", "Address", "Cloud Map health", "Zone", "HAProxy", "Weight", "Sessions", "Check"], rows,
        "no routes yet")
    ]);
  }

  function renderRecords(doc) {
    fill("quarantined", [table(["Namespace", "Service", "Instance", "Reason"], doc.quarantined.map(function (q) {
      return row([q.namespace, q.service, q.instanceId || "(whole service)", q.reason]);
    }), "none: every record is routed")]);
    fill("ignored", [table(["Namespace", "Service", "Instance", "Key", "Reason"], doc.ignoredOptions.map(function (o) {
      return row([o.namespace, o.service, o.instanceId || "(service)", o.key, o.reason]);
    }), "none")]);
  }

  function renderChanges(doc, now) {
    var pending = doc.pending;
    fill("changes", [
      pending === null ? el("p", "empty", "nothing pending: HAProxy serves the newest configuration")
        : el("p", "warn", "Pending since " + when(pending.since) + " (" + pending.stage + "): " + pending.error +
          "; routes to add: " + (pending.routes.added.join(", ") || "none") + "; to remove: " + (pending.routes.removed.join(", ") || "none")),
      table(["When", "Method", "Result", "Reason", "Instances and cause", "Error", "Duration"], doc.recentChanges.map(function (c) {
        return row([when(c.at) + " (" + ago(c.at, now) + ")", c.method, cell(badge(c.ok ? "applied" : "refused", c.ok ? "up" : "down")),
          c.reason, cell(list(c.changes || [], "-")), c.error || "", c.durationMs + " ms"]);
      }), "no change applied yet")
    ]);
    var h = doc.haproxy;
    fill("haproxy", [pairs([
      ["Running", h.running ? "yes (pid " + h.pid + ", " + h.workers + " worker(s))" : "no"],
      ["Configuration", "generation " + doc.config.generation + (doc.config.hash ? ", " + String(doc.config.hash).slice(0, 16) : "")],
      ["Routes", doc.counts.services + " routes, " + doc.counts.instances + " instances, " + doc.counts.quarantined + " quarantined, " +
        doc.counts.ignoredOptions + " ignored options"]
    ])]);
  }

  function getJson(path) {
    return fetch(path, { cache: "no-store", credentials: "same-origin", headers: { accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error(path + " answered HTTP " + r.status);
      return r.json();
    });
  }

  function refresh() {
    var live = getJson("./status/servers").catch(function (e) {
      return { available: false, error: String(e && e.message), backends: [] };
    });
    Promise.all([getJson("./status"), live]).then(function (results) {
      // Ages are measured on the agent's clock (the browser's may be off, and is not the agent's).
      var now = Date.parse(results[0].generatedAt);
      renderSummary(results[0], results[1], now);
      renderCloudMap(results[0], now);
      renderRoutes(results[0], results[1]);
      renderRecords(results[0]);
      renderChanges(results[0], now);
      fill("problem", []);
      fill("updated", [document.createTextNode("updated " + when(new Date(now).toISOString()))]);
    }).catch(function (e) {
      fill("problem", [el("p", "warn", "Could not refresh: " + (e && e.message))]);
    }).finally(function () {
      refreshes++;
      document.body.dataset.refreshes = String(refreshes);
      setTimeout(refresh, REFRESH_MS);
    });
  }
  refresh();
})();
`
