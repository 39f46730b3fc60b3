/* sleepwalk report: draws each run's timelines (virtual and real time) from the JSON in #sleepwalk-data.
   Everything is built with DOM calls and textContent, never innerHTML, so no journal value is parsed as markup. */
(function () {
  "use strict";
  const SVG_NS = "http" + "://www.w3.org/2000/svg";
  const body = document.body;
  let violations = 0;

  function fail(error) {
    body.dataset.rendered = "error";
    const box = document.getElementById("render-error");
    const text = error && error.stack ? error.stack : String(error);
    if (box) {
      box.hidden = false;
      box.textContent = "The report could not be drawn: " + text;
    }
  }
  window.onerror = function (message, source, line, column, error) {
    fail(error || message + " (line " + line + ")");
    return false;
  };
  document.addEventListener("securitypolicyviolation", function () {
    violations += 1;
    body.dataset.cspViolations = String(violations);
  });

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    setAll(node, attrs, children);
    return node;
  }
  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    setAll(node, attrs, children);
    return node;
  }
  function setAll(node, attrs, children) {
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined && value !== false) node.setAttribute(key, String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    }
  }

  // ---- time formatting -------------------------------------------------------------------------------------
  const STEPS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600,
    900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];

  function trim(value, digits) {
    return String(Number(value.toFixed(digits)));
  }
  function offset(seconds, step) {
    if (seconds === null || seconds === undefined) return "–";
    const sign = seconds < 0 ? "−" : "+";
    const a = Math.abs(seconds);
    if (a === 0) return "+0 s";
    if ((step !== undefined ? step < 1 : a < 1) && a < 10) return sign + trim(a * 1000, 1) + " ms";
    if (a < 60) return sign + trim(a, 3) + " s";
    if (a < 3600) {
      const m = Math.floor(a / 60);
      const s = Math.round(a - 60 * m);
      return sign + m + " min" + (s ? " " + s + " s" : "");
    }
    if (a < 86400 * 2) {
      const h = Math.floor(a / 3600);
      const m = Math.round((a - 3600 * h) / 60);
      return sign + h + " h" + (m ? " " + m + " min" : "");
    }
    return sign + trim(a / 86400, 1) + " d";
  }
  function ticks(span, px) {
    const want = Math.max(2, Math.floor(px / 120));
    const step = STEPS.find((s) => span / s <= want) || STEPS[STEPS.length - 1];
    const list = [];
    for (let i = 0; i * step <= span + step * 1e-6; i += 1) list.push(i * step);
    return { step: step, list: list };
  }

  // ---- labels ----------------------------------------------------------------------------------------------
  const CHAR = 6.9;
  function requestLabel(request) {
    let text = request.seq + " " + request.method + " " + request.path;
    if (request.grant) text += " [" + request.grant + "]";
    text += " → " + (request.status === null ? "no answer" : request.status);
    if (request.verdict && request.verdict !== "valid") text += " " + request.verdict;
    if (request.fault_action) text += " · fault " + (request.fault_id || "") + " " + request.fault_action;
    if (request.held) text += " · held";
    return text;
  }
  function shortToken(id) {
    return id.length > 10 ? id.slice(0, 8) + "…" : id;
  }
  function tokenLabel(token) {
    let text = "token " + shortToken(token.id) + " (#" + token.seq + (token.grant ? " " + token.grant : "") + ")";
    if (token.expiry_source === "settings") text += " exp. from settings";
    if (token.expiry_source === null) text += " expiry unknown";
    return text;
  }

  // ---- one timeline ----------------------------------------------------------------------------------------
  function drawAxis(run, axis, width) {
    const key = axis === "virtual" ? "v" : "r";
    const byseq = new Map(run.requests.map((request) => [request.seq, request]));
    let span = run[axis].span || 0;
    if (span <= 0) span = axis === "virtual" ? 1 : 0.01;
    const left = 150;
    const right = 40;
    const plot = width - left - right;
    const pad = span * 0.02;
    const d0 = -pad;
    const d1 = span + pad;
    const x = (t) => left + ((t - d0) / (d1 - d0)) * plot;
    const xmax = left + plot;
    const clamp = (value) => Math.max(left, Math.min(xmax, value));

    // Token lanes, packed so bars (with their labels) do not overlap.
    const lanes = [];
    const bars = [];
    for (const token of run.tokens) {
      const t0 = token[key + "0"];
      if (t0 === null) continue;
      const uses = token.uses.map((seq) => byseq.get(seq)).filter((r) => r && r[key] !== null);
      const t1 = token[key + "1"];
      const tr = token[key + "r"];
      const lastUse = uses.reduce((acc, r) => Math.max(acc, r[key]), t0);
      const x0 = x(t0);
      const x1raw = t1 !== null ? x(t1) : Math.max(x(lastUse), x0 + 24);
      const x1 = clamp(Math.max(x1raw, x0 + 2));
      const label = tokenLabel(token);
      const labelWidth = label.length * CHAR;
      const labelFlip = x0 + labelWidth > width - 4;
      const start = labelFlip ? Math.min(x0, x1 - labelWidth) : x0;
      const extent = Math.max(x1, labelFlip ? x1 : x0 + labelWidth) + 8;
      let lane = lanes.findIndex((end) => end < start);
      if (lane < 0) {
        lane = lanes.length;
        lanes.push(0);
      }
      lanes[lane] = extent;
      bars.push({ token, uses, lane, x0, x1, xr: tr !== null ? clamp(x(tr)) : null, clipped: x1raw > xmax,
        unknown: t1 === null, label, labelX: labelFlip ? x1 : x0, labelFlip });
    }

    // Request rows: labelled while that fits in MAX_ROWS rows, markers only (compact) beyond.
    const placed = run.requests.filter((r) => r[key] !== null);
    const MAX_ROWS = 36;
    let compact = false;
    let rows = pack(placed, false);
    if (rows.count > MAX_ROWS) {
      compact = true;
      rows = pack(placed, true);
    }
    function pack(list, small) {
      const ends = [];
      const at = new Map();
      for (const request of list) {
        const cx = x(request[key]);
        const labelWidth = small ? 0 : requestLabel(request).length * CHAR + 14;
        const flip = !small && cx + labelWidth > xmax + right;
        const start = flip ? cx - labelWidth - 8 : cx - 8;
        const end = flip ? cx + 8 : cx + labelWidth + 8;
        let row = ends.findIndex((e) => e < start);
        if (row < 0) {
          if (small && ends.length >= 90) {
            row = ends.indexOf(Math.min(...ends));
          } else {
            row = ends.length;
            ends.push(0);
          }
        }
        ends[row] = end;
        at.set(request.seq, { row, cx, flip });
      }
      return { count: ends.length, at };
    }

    const laneH = 30;
    const rowH = compact ? 12 : 20;
    const top = 30;
    const clockY = top + 6;
    const tokensY = clockY + 30;
    const requestsY = tokensY + Math.max(1, lanes.length) * laneH + 16;
    const height = requestsY + Math.max(1, rows.count) * rowH + 14;

    const root = svg("svg", { class: "timeline-svg", "data-axis": axis, width: width, height: height,
      viewBox: "0 0 " + width + " " + height, role: "img",
      "aria-label": (axis === "virtual" ? "Virtual" : "Real") + " time line of " + run.scenario + " " + run.client });

    // Lane captions and separators.
    const captions = [["Clock & control", clockY + 14], ["Access tokens", tokensY + 16],
      ["Requests" + (compact ? " (compact)" : ""), requestsY + 13]];
    for (const [text, y] of captions) root.appendChild(svg("text", { class: "caption", x: 8, y: y }, text));
    for (const y of [tokensY - 6, requestsY - 8]) {
      root.appendChild(svg("line", { class: "separator", x1: 0, x2: width, y1: y, y2: y }));
    }

    // Ticks and grid.
    const axisTicks = ticks(span, plot);
    root.appendChild(svg("line", { class: "axis", x1: left, x2: xmax, y1: top, y2: top }));
    for (const t of axisTicks.list) {
      const tx = x(t);
      root.appendChild(svg("line", { class: "grid", x1: tx, x2: tx, y1: top, y2: height - 6 }));
      root.appendChild(svg("text", { class: "tick", x: tx, y: top - 8, "text-anchor": "middle" },
        offset(t, axisTicks.step)));
    }

    // Clock jumps: a band over the virtual time they skipped; on real time they take an instant.
    for (const jump of run.jumps) {
      let bx;
      let bw;
      if (axis === "virtual") {
        if (jump.v0 === null || jump.v1 === null) continue;
        const a = x(Math.min(jump.v0, jump.v1));
        const b = x(Math.max(jump.v0, jump.v1));
        bx = a;
        bw = Math.max(3, b - a);
      } else {
        if (jump.r === null) continue;
        bx = x(jump.r) - 2;
        bw = 4;
      }
      const group = svg("g", { class: "band band-" + jump.kind + (jump.inferred ? " band-inferred" : ""),
        "data-seconds": jump.seconds, "data-kind": jump.kind, "data-inferred": jump.inferred ? "1" : "0" });
      group.appendChild(svg("rect", { class: "band-fill", x: bx, y: top, width: bw, height: height - top - 6 }));
      const short = (jump.kind === "skew" ? "skew " : jump.kind === "jump" ? "jump " : jump.kind + " ") +
        offset(jump.seconds);
      const labelWidth = short.length * CHAR + 12;
      const inside = bw >= labelWidth;
      const flip = !inside && bx + bw + labelWidth > xmax + right;
      const lx = inside ? bx + 6 : flip ? bx - 4 : bx + bw + 4;
      group.appendChild(svg("text", { class: "band-label", x: lx, y: clockY + 14,
        "text-anchor": flip ? "end" : "start" }, short));
      group.appendChild(svg("title", {}, jump.summary + (jump.text ? " — " + jump.text : "")));
      root.appendChild(group);
    }

    // Other control events: small flags in the clock row.
    for (const control of run.controls) {
      if (control[key] === null) continue;
      const cx = x(control[key]);
      const group = svg("g", { class: "control control-" + control.kind, "data-kind": control.kind });
      group.appendChild(svg("path", { d: "M" + cx + " " + (clockY + 2) + " l5 9 l-10 0 z" }));
      group.appendChild(svg("title", {}, "event " + control.seq + " " + control.kind + ": " + control.text));
      root.appendChild(group);
    }

    // Token bars.
    for (const bar of bars) {
      const y = tokensY + bar.lane * laneH + 12;
      const group = svg("g", { class: "token" + (bar.unknown ? " token-unknown" : ""), "data-token-id": bar.token.id,
        "data-issued-seq": bar.token.seq, "data-clipped": bar.clipped ? "1" : "0" });
      const windowStart = bar.xr === null ? bar.x1 : Math.max(bar.x0, Math.min(bar.xr, bar.x1));
      group.appendChild(svg("rect", { class: "token-life", x: bar.x0, y: y, width: Math.max(2, windowStart - bar.x0),
        height: 10 }));
      if (bar.xr !== null && bar.x1 > windowStart) {
        group.appendChild(svg("rect", { class: "token-window", x: windowStart, y: y, width: bar.x1 - windowStart,
          height: 10 }));
      }
      if (!bar.unknown && !bar.clipped) {
        group.appendChild(svg("line", { class: "token-exp", x1: bar.x1, x2: bar.x1, y1: y - 3, y2: y + 13 }));
      }
      if (bar.clipped) group.appendChild(svg("path", { class: "token-more", d: "M" + bar.x1 + " " + (y - 2) +
        " l7 7 l-7 7 z" }));
      for (const use of bar.uses) {
        const ux = x(use[key]);
        const bad = bar.token.rejected.includes(use.seq);
        group.appendChild(svg("line", { class: bad ? "token-use rejected" : "token-use", x1: ux, x2: ux,
          y1: y - (bad ? 4 : 1), y2: y + (bad ? 14 : 11) }));
      }
      group.appendChild(svg("text", { class: "token-label", x: bar.labelX, y: y - 3,
        "text-anchor": bar.labelFlip ? "end" : "start" }, bar.label));
      group.appendChild(svg("title", {}, "access token " + bar.token.id + ", issued by request " + bar.token.seq +
        (bar.token.exp_iso ? ", expires " + bar.token.exp_iso + " (virtual)" : ", expiry unknown") +
        "; refresh window from exp − 300 s; used by " + (bar.token.uses.join(", ") || "no request")));
      root.appendChild(group);
    }

    // Request markers.
    for (const request of placed) {
      const spot = rows.at.get(request.seq);
      const cy = requestsY + spot.row * rowH + rowH / 2;
      const classes = ["req", "s" + request.cls];
      if (request.refresh) classes.push("refresh");
      if (request.token_call) classes.push("token-call");
      if (request.held) classes.push("held");
      if (request.fault_action) classes.push("faulted");
      const group = svg("g", { class: classes.join(" "), "data-seq": request.seq,
        "data-status": request.status === null ? "" : request.status, "data-path": request.path,
        "data-method": request.method, "data-grant": request.grant || "", "data-class": request.cls });
      const cx = spot.cx;
      const size = compact ? 4 : 6;
      if (request.fault_action) {
        group.appendChild(svg("circle", { class: "fault-ring", cx: cx, cy: cy, r: size + 3.5 }));
      }
      if (request.refresh) {
        group.appendChild(svg("path", { class: "mark", d: "M" + cx + " " + (cy - size - 1) + " l" + (size + 1) + " " +
          (size + 1) + " l" + -(size + 1) + " " + (size + 1) + " l" + -(size + 1) + " " + -(size + 1) + " z" }));
      } else if (request.token_call) {
        group.appendChild(svg("rect", { class: "mark", x: cx - size + 1, y: cy - size + 1, width: 2 * size - 2,
          height: 2 * size - 2 }));
      } else {
        group.appendChild(svg("circle", { class: "mark", cx: cx, cy: cy, r: size - 1 }));
      }
      if (!compact) {
        group.appendChild(svg("text", { class: "req-label", x: spot.flip ? cx - 14 : cx + 11, y: cy + 4,
          "text-anchor": spot.flip ? "end" : "start" }, requestLabel(request)));
      }
      group.appendChild(svg("title", {}, requestLabel(request) + "\nvirtual " + (request.v_iso || "?") + " (" +
        offset(request.v) + ")\nreal " + (request.r_iso || "?") + " (" + offset(request.r) + ")" +
        (request.token_id ? "\ntoken " + request.token_id + " " + (request.verdict || "") : "") +
        (request.issued ? "\nissued token " + request.issued : "") + (request.note ? "\nnote: " + request.note : "")));
      root.appendChild(group);
    }
    const missing = run.requests.length - placed.length;
    const figure = el("figure", { class: "timeline", "data-axis": axis },
      el("figcaption", {}, axis === "virtual"
        ? "Virtual time (the clocks the client and server read), from " + (run.virtual.start || "?")
        : "Real time (what the harness spent), from " + (run.real.start || "?"),
      missing ? " — " + missing + " request(s) have no " + axis + " time and are not drawn" : ""),
      el("div", { class: "scroll" }, root));
    return figure;
  }

  // ---- page parts ------------------------------------------------------------------------------------------
  function cell(value) {
    return el("td", {}, value === null || value === undefined || value === "" ? "–" : value);
  }

  function requestsTable(run) {
    const head = ["#", "virtual", "real", "method", "path", "grant", "token verdict", "status", "fault", "note"];
    const table = el("table", { class: "requests" },
      el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))));
    const tbody = el("tbody");
    for (const request of run.requests) {
      const fault = request.fault_action ? (request.fault_id || "") + " " + request.fault_action : "";
      tbody.appendChild(el("tr", { class: "s" + request.cls + (request.refresh ? " refresh" : ""),
        "data-seq": request.seq },
        cell(request.seq), cell(offset(request.v)), cell(offset(request.r)), cell(request.method),
        cell(request.path + (request.query ? "?" + request.query : "")), cell(request.grant),
        cell(request.verdict), cell(request.status === null ? "no answer" : request.status),
        cell(fault + (request.held ? " held" : "")), cell(request.note)));
    }
    table.appendChild(tbody);
    return table;
  }

  function eventsTable(run) {
    const rows = [];
    for (const jump of run.jumps) {
      rows.push([jump.r, el("tr", { class: "band-" + jump.kind }, cell(jump.inferred ? "inferred" : "clock"),
        cell(offset(jump.v0)), cell(offset(jump.r)), cell(jump.summary + (jump.text ? " — " + jump.text : "")))]);
    }
    for (const control of run.controls) {
      rows.push([control.r, el("tr", {}, cell(control.kind), cell(offset(control.v)), cell(offset(control.r)),
        cell(control.text))]);
    }
    if (!rows.length) return null;
    rows.sort((a, b) => (a[0] === null ? 0 : a[0]) - (b[0] === null ? 0 : b[0]));
    return el("table", { class: "events" },
      el("thead", {}, el("tr", {}, ...["event", "virtual", "real", "what"].map((h) => el("th", {}, h)))),
      el("tbody", {}, ...rows.map((row) => row[1])));
  }

  function fact(name, value) {
    return el("div", { class: "fact" }, el("dt", {}, name), el("dd", {}, value === null || value === undefined
      ? "–" : typeof value === "object" ? JSON.stringify(value) : String(value)));
  }

  function header(run) {
    const verdict = run.passed === null ? "NO VERDICT" : run.passed ? "PASS" : "FAIL";
    const source = run.source && /^https?:\/\//.test(run.source)
      ? el("a", { href: run.source, rel: "noreferrer" }, run.source) : run.source;
    const facts = el("dl", { class: "facts" },
      fact("final state", run.state), fact("logout reason", run.logout_reason), fact("exit code", run.exit_code),
      fact("profile", run.profile), fact("expected profile", run.expected_profile),
      ...Object.entries(run.expected || {}).map(([name, value]) =>
        fact("expected " + name, Array.isArray(value) ? value.join(" · ") : value)),
      fact("token lifetime", run.settings.access_token_lifetime !== undefined
        ? run.settings.access_token_lifetime + " s" : null),
      fact("leeway", run.settings.leeway !== undefined ? run.settings.leeway + " s" : null),
      fact("virtual span", offset(run.virtual.span)), fact("real span", offset(run.real.span)));
    const parts = [
      el("h2", {}, el("span", { class: "verdict " + verdict.toLowerCase().replace(" ", "-") }, verdict), " ",
        run.scenario, el("span", { class: "client" }, " — " + run.client)),
      run.description ? el("p", { class: "description" }, run.description) : null,
      source ? el("p", { class: "source" }, "source: ", source) : null,
      facts,
    ];
    if (run.error) parts.push(el("p", { class: "error" }, "error: " + run.error));
    if (run.problems.length) {
      parts.push(el("div", { class: "problems" }, el("strong", {}, "problems"),
        el("ul", {}, ...run.problems.map((problem) => el("li", {}, el("pre", {}, problem))))));
    }
    return el("header", {}, ...parts);
  }

  function commands(run) {
    if (!run.commands.length) return null;
    return el("details", { class: "commands" }, el("summary", {}, "client commands (" + run.commands.length + ")"),
      ...run.commands.map((command) => el("div", { class: "command" },
        el("code", {}, "$ " + command.command + "  → exit " + command.exit_code),
        command.stdout ? el("pre", {}, command.stdout) : null,
        command.stderr ? el("pre", { class: "stderr" }, command.stderr) : null)));
  }

  function swatch(shape, cls) {
    const box = svg("svg", { width: 22, height: 16, viewBox: "0 0 22 16", class: "swatch " + cls });
    box.appendChild(shape);
    return box;
  }

  function legend() {
    const item = (node, text) => el("span", { class: "legend-item" }, node, text);
    const circle = (cls) => swatch(svg("circle", { class: "mark", cx: 11, cy: 8, r: 5 }), "req " + cls);
    return el("div", { class: "legend" },
      item(circle("s2xx"), "2xx"), item(circle("s3xx"), "3xx"), item(circle("s4xx"), "4xx"),
      item(circle("s5xx"), "5xx"), item(circle("snone"), "no answer"),
      item(swatch(svg("rect", { class: "mark", x: 6, y: 3, width: 10, height: 10 }), "req s2xx token-call"),
        "token request"),
      item(swatch(svg("path", { class: "mark", d: "M11 1 l7 7 l-7 7 l-7 -7 z" }), "req s2xx refresh"), "refresh"),
      item(swatch(svg("circle", { class: "fault-ring", cx: 11, cy: 8, r: 6.5 }), "req"), "fault fired"),
      item(swatch(svg("circle", { class: "mark", cx: 11, cy: 8, r: 5 }), "req snone held"), "held"),
      item(swatch(svg("rect", { class: "token-life", x: 1, y: 4, width: 20, height: 8 }), ""), "access token"),
      item(swatch(svg("rect", { class: "token-window", x: 1, y: 4, width: 20, height: 8 }), ""),
        "refresh window (exp − 300 s)"),
      item(swatch(svg("rect", { class: "band-fill", x: 1, y: 0, width: 20, height: 16 }), "band band-sleep"),
        "host sleep"),
      item(swatch(svg("rect", { class: "band-fill", x: 1, y: 0, width: 20, height: 16 }), "band band-skew"),
        "server clock skew"),
      item(swatch(svg("rect", { class: "band-fill", x: 1, y: 0, width: 20, height: 16 }), "band band-jump"),
        "clock jump (advance / inferred)"));
  }

  function summary(runs) {
    const head = ["verdict", "scenario", "client", "final state", "logout reason", "requests"];
    return el("table", { class: "summary" },
      el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))),
      el("tbody", {}, ...runs.map((run) => {
        const verdict = run.passed === null ? "–" : run.passed ? "PASS" : "FAIL";
        return el("tr", {}, el("td", { class: "verdict-cell " + verdict.toLowerCase() }, verdict),
          el("td", {}, el("a", { href: "#" + run.id }, run.scenario)), cell(run.client), cell(run.state),
          cell(run.logout_reason), cell(run.requests.length));
      })));
  }

  function render() {
    const data = JSON.parse(document.getElementById("sleepwalk-data").textContent);
    const app = document.getElementById("app");
    app.appendChild(legend());
    app.appendChild(summary(data.runs));
    const width = Math.max(900, Math.min(2400, (app.clientWidth || 1340)));
    for (const run of data.runs) {
      const section = el("section", { class: "run", id: run.id, "data-scenario": run.scenario,
        "data-client": run.client });
      section.appendChild(header(run));
      section.appendChild(drawAxis(run, "virtual", width));
      section.appendChild(drawAxis(run, "real", width));
      const events = eventsTable(run);
      if (events) section.appendChild(el("h3", {}, "Control events"));
      if (events) section.appendChild(events);
      section.appendChild(el("h3", {}, "Requests (" + run.requests.length + ")"));
      section.appendChild(requestsTable(run));
      const cmds = commands(run);
      if (cmds) section.appendChild(cmds);
      app.appendChild(section);
    }
    body.dataset.resources = String(performance.getEntriesByType("resource").length);
    body.dataset.pageHeight = String(Math.ceil(document.documentElement.scrollHeight));
    body.dataset.rendered = "ok";
  }

  try {
    render();
  } catch (error) {
    fail(error);
  }
})();
