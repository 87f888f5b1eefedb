// cascade-monitor risk page: polls /api/v1 (same origin only), draws uPlot charts and plain tables.
"use strict";
(function () {
  const POLL_MS = 2000;
  const COLORS = ["#2563eb", "#059669", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#4b5563"];
  const $ = (id) => document.getElementById(id);
  const state = { view: "", block: null, key: null, status: null, charts: {}, whatIf: null, updates: 0 };
  window.cascade = state;

  const usd = (x) => x == null ? "–" : "$" + compact(x);
  const pct = (x, d = 1) => x == null ? "–" : (100 * x).toFixed(d) + "%";
  function compact(x) {
    const a = Math.abs(x);
    if (a >= 1e9) return (x / 1e9).toFixed(2) + "B";
    if (a >= 1e6) return (x / 1e6).toFixed(2) + "M";
    if (a >= 1e3) return (x / 1e3).toFixed(1) + "k";
    return x.toFixed(a >= 100 ? 0 : 2);
  }
  const num = (x, d = 3) => x == null ? "–" : Number(x).toFixed(d);
  const value = (x) => x == null ? "–" : Math.abs(x) >= 1000 ? compact(x) : Number(x).toFixed(3);
  function esc(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }
  function rows(tableId, list, cells, empty) {
    const body = $(tableId).tBodies[0];
    const n = $(tableId).tHead.rows[0].cells.length;
    body.innerHTML = list.length ? list.map((x) => cells(x)).join("")
      : `<tr><td class="empty" colspan="${n}">${esc(empty)}</td></tr>`;
  }

  async function get(path) {
    const r = await fetch(path, { cache: "no-store" });
    const doc = await r.json();
    if (!r.ok) throw new Error(doc.error || r.statusText);
    return doc;
  }
  const api = (what) => get(`/api/v1/markets/${encodeURIComponent(state.view)}/${what}`);

  // -- charts --------------------------------------------------------------------------------------------
  function plot(id, series, data, opts = {}) {
    const el = $(id);
    if (typeof uPlot === "undefined") {  // a build without `make setup`'s copy of uPlot: tables only
      el.innerHTML = `<p class="note">charts need uPlot in monitor/web/static/vendor/ (make setup copies it)</p>`;
      return;
    }
    const width = Math.max(el.clientWidth, 240);
    const key = series.map((s) => s.label).join("|") + "|" + (opts.key || "");
    const old = state.charts[id];
    if (old && old._key === key) {
      old.setData(data);
      if (Math.abs(old.width - width) > 2) old.setSize({ width, height: old.height });
      return;
    }
    if (old) old.destroy();
    const u = new uPlot({
      width, height: width < 400 ? 200 : 240, legend: { live: false },
      cursor: { drag: { x: false, y: false } },
      scales: opts.scales || { x: { time: false } },
      axes: opts.axes || [{}, {}],
      series: [{ label: opts.xLabel || "x" }, ...series],
    }, data, el);
    u._key = key;
    state.charts[id] = u;
  }
  const line = (label, i, scale = "y", extra = {}) =>
    ({ label, stroke: COLORS[i % COLORS.length], width: 2, scale, spanGaps: false, ...extra });
  const usdAxis = (scale = "y", side = 3) =>
    ({ scale, side, size: 60, values: (u, v) => v.map((x) => x == null ? "" : "$" + compact(x)) });

  // a bucket by its lower edge ("<1" for the first): short enough to label every bar
  const edgeLabel = (d, i) => i === 0 ? "<" + d.edges[0] : (i < d.labels.length ? String(d.edges[i - 1]) : "");

  function drawDistribution(d) {
    const x = d.labels.map((_, i) => i);
    const bars = uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.7, 60] }) : undefined;
    plot("chart-distribution", [
      { label: "accounts", stroke: "#2563eb", fill: "rgba(37,99,235,.35)", paths: bars, scale: "n", points: { show: false } },
      line("debt $", 0, "usd", { stroke: "#dc2626", points: { show: true, size: 6 } }),
    ], [x, d.counts, d.debt_usd], {
      xLabel: "HF", key: d.labels.join(","),
      scales: { x: { time: false, range: [-0.5, x.length - 0.5] }, n: {}, usd: {} },
      axes: [{ splits: () => x, values: (u, v) => v.map((i) => edgeLabel(d, i)), rotate: -45, size: 52, gap: 2 },
             { scale: "n", size: 48 }, usdAxis("usd", 1)],
    });
  }

  function drawAtRisk(doc) {
    if (!doc.assets.length) return;
    const drops = doc.assets[0].drops;
    plot("chart-at-risk", doc.assets.map((a, i) => line(a.symbol, i)),
      [drops.map((x) => 100 * x), ...doc.assets.map((a) => a.collateral_now_usd)],
      { xLabel: "drop %", axes: [{ values: (u, v) => v.map((x) => x + "%") }, usdAxis()] });
  }

  function drawPath(doc) {
    const pick = $("scenario");
    const names = doc.scenarios.map((s) => s.name);
    if ([...pick.options].map((o) => o.value).join() !== names.join()) {
      const was = pick.value;
      pick.innerHTML = names.map((n) => `<option>${esc(n)}</option>`).join("");
      if (names.includes(was)) pick.value = was;
    }
    const s = doc.scenarios.find((x) => x.name === pick.value) || doc.scenarios[0];
    if (!s || !s.path.length) { $("path-note").textContent = "no scenario projected yet"; return; }
    const assets = Object.keys(s.path[0].prices_usd);
    const rounds = s.path.map((p) => p.round);
    let repaid = 0;
    const cum = s.path.map((p) => (repaid += p.debt_repaid_usd || 0));
    const prices = assets.map((a) => {
      const first = s.path[0].prices_usd[a];
      return s.path.map((p) => p.prices_usd[a] / first);
    });
    plot("chart-path", [
      ...assets.map((a, i) => line(a + " price", i, "ratio")),
      line("debt repaid $", 0, "usd", { dash: [6, 4], stroke: "#111827" }),
      line("bad debt $", 0, "usd", { stroke: "#dc2626", width: 3 }),
    ], [rounds, ...prices, cum, s.path.map((p) => p.bad_debt_usd)], {
      xLabel: "round", key: s.name,
      scales: { x: { time: false }, ratio: {}, usd: {} },
      axes: [{}, { scale: "ratio", size: 64, values: (u, v) => v.map((x) => pct(x, 1)) }, usdAxis("usd", 1)],
    });
    $("path-note").textContent = `${s.name}: final drop ${pct(s.final_drop)}, amplification ${num(s.amplification, 3)}, ` +
      `${s.rounds} rounds, debt repaid ${usd(s.debt_repaid_usd)}, bad debt ${usd(s.bad_debt_usd)}`;
  }

  // every scenario's cumulative debt repaid against seconds after the shock (a step at each round)
  function drawPathByTime(doc) {
    const runs = doc.scenarios.filter((s) => s.path.length > 1);
    if (!runs.length) { $("path-time-note").textContent = "no scenario liquidates anything"; return; }
    const xs = [...new Set(runs.flatMap((s) => s.path.map((p) => p.seconds || 0)))].sort((a, b) => a - b);
    const cumulative = runs.map((s) => {
      let repaid = 0, k = 0;
      return xs.map((x) => {
        while (k < s.path.length && (s.path[k].seconds || 0) <= x) repaid += s.path[k++].debt_repaid_usd || 0;
        return repaid;
      });
    });
    const steps = typeof uPlot !== "undefined" && uPlot.paths && uPlot.paths.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined;
    plot("chart-path-time", runs.map((s, i) => line(s.name, i, "usd", { paths: steps })), [xs, ...cumulative], {
      xLabel: "seconds", key: runs.map((s) => s.name).join(","),
      scales: { x: { time: false }, usd: {} },
      axes: [{ values: (u, v) => v.map((x) => x + " s") }, usdAxis("usd", 3)],
    });
    const s = runs.find((x) => x.name === $("scenario").value) || runs[0];
    $("path-time-note").textContent = `${s.name}: ${num(s.duration_seconds, 0)} s to the last round, ` +
      `${usd(s.liquidated_first_minute_usd)} repaid in the first minute, ${usd(s.liquidated_first_hour_usd)} in ` +
      `the first hour` + (s.dust_debt_usd ? `, dust ${usd(s.dust_debt_usd)}` : "");
  }

  function drawCritical(doc) {
    const h = doc.history;
    const assets = Object.keys(h.critical_shock);
    // from the first swept point on (before it, no asset has a value yet)
    const first = h.timestamp.findIndex((_, i) => assets.some((a) => h.critical_shock[a][i] != null));
    if (first < 0) return;
    plot("chart-critical", assets.map((a, i) => line(a, i)),
      [h.timestamp.slice(first), ...assets.map((a) => h.critical_shock[a].slice(first).map((x) => x == null ? null : 100 * x))],
      { xLabel: "time", scales: { x: { time: true }, y: {} },
        axes: [{}, { size: 50, values: (u, v) => v.map((x) => x + "%") }] });
  }

  // the system projection: per scenario the system's totals and each market's share, contagion as bars
  function drawSystem(p) {
    const panel = $("system-projection");
    panel.style.display = p ? "" : "none";
    if (!p) return;
    const list = [];
    for (const s of p.scenarios) {
      list.push({ s, m: null });
      for (const m of s.markets) list.push({ s, m });
    }
    // the loss each market's buffers leave uncovered (summed over its reserves / lending markets)
    const uncovered = (s, name) => Object.values((s.buffers || {})[name] || {}).reduce((n, u) => n + (u.uncovered_usd || 0), 0);
    rows("system-scenarios", list, ({ s, m }) => {
      if (!m) {
        const all = s.markets.reduce((n, x) => n + uncovered(s, x.name), 0);
        return `<tr class="total" data-scenario="${esc(s.name)}" data-debt-repaid-usd="${s.debt_repaid_usd}" ` +
          `data-bad-debt-usd="${s.bad_debt_usd}" data-uncovered-usd="${all}"><td class="l">${esc(s.name)}</td>` +
          `<td class="l">system</td><td>${s.accounts_liquidated}</td><td>${usd(s.debt_repaid_usd)}</td>` +
          `<td>${usd(s.bad_debt_usd)}</td><td></td><td></td><td></td><td class="${all > 0 ? "bad" : ""}">${usd(all)}</td></tr>`;
      }
      const c = s.contagion[m.name];
      const u = uncovered(s, m.name);
      return `<tr data-scenario="${esc(s.name)}" data-market="${esc(m.name)}" data-debt-repaid-usd="${m.debt_repaid_usd}" ` +
        `data-contagion-debt-repaid-usd="${c.debt_repaid_usd}" data-contagion-accounts="${c.accounts_liquidated}" ` +
        `data-uncovered-usd="${u}"><td class="l"></td><td class="l">${esc(m.name)}</td><td>${m.accounts_liquidated}</td>` +
        `<td>${usd(m.debt_repaid_usd)}</td><td>${usd(m.bad_debt_usd)}</td><td>${c.accounts_liquidated}</td>` +
        `<td class="${c.debt_repaid_usd > 0 ? "bad" : ""}">${usd(c.debt_repaid_usd)}</td><td>${usd(c.bad_debt_usd)}</td>` +
        `<td class="${u > 0 ? "bad" : ""}">${usd(u)}</td></tr>`;
    }, "no scenario projected");
    $("system-note").textContent = `block ${p.block}: ${p.markets.join(", ")} as one cascade into the shared pools`;
    if (!p.scenarios.length) return;
    const x = p.scenarios.map((_, i) => i);
    // grouped bars: two markets side by side of the scenario's tick (more overlap in pairs)
    const barsOf = (i) => typeof uPlot !== "undefined" && uPlot.paths && uPlot.paths.bars
      ? uPlot.paths.bars({ size: [p.markets.length > 1 ? 0.4 : 0.6, 40], align: p.markets.length > 1 ? (i % 2 ? 1 : -1) : 0 })
      : undefined;
    plot("chart-contagion", p.markets.map((name, i) => ({
      label: name, stroke: COLORS[i % COLORS.length], fill: COLORS[i % COLORS.length] + "99", paths: barsOf(i),
      points: { show: false }, scale: "usd",
    })), [x, ...p.markets.map((name) => p.scenarios.map((s) => s.contagion[name].debt_repaid_usd))], {
      xLabel: "scenario", key: p.scenarios.map((s) => s.name).join(","),
      scales: { x: { time: false, range: [-0.5, x.length - 0.5] }, usd: {} },
      axes: [{ splits: () => x, values: (u, v) => v.map((i) => p.scenarios[i] ? p.scenarios[i].name : ""), rotate: -30, size: 70 },
             { ...usdAxis("usd", 3), size: 72 }],
    });
  }

  // -- tables and cards ----------------------------------------------------------------------------------
  function cards(list) {
    $("cards").innerHTML = list.map(([label, value, cls]) =>
      `<div class="card ${cls || ""}"><b>${esc(value)}</b><span>${esc(label)}</span></div>`).join("");
  }

  function drawStatus(st) {
    const sel = $("view");
    const names = st.markets.map((m) => m.market);
    if ([...sel.options].slice(1).map((o) => o.value).join() !== names.join()) {
      sel.innerHTML = `<option value="">system</option>` + names.map((n) => `<option>${esc(n)}</option>`).join("");
      sel.value = state.view;
    }
    rows("markets", st.markets, (m) => `<tr><td>${esc(m.market)}</td><td class="${m.status === "ok" ? "" : "bad"}">` +
      `${esc(m.status)}</td><td>${m.block ?? "–"}</td><td>${num(m.data_age_s, 0)}</td><td>${m.accounts ?? "–"}</td>` +
      `<td>${usd(m.debt_usd)}</td><td>${usd(m.liquidatable_debt_usd)}</td></tr>`, "no market");
    const m = st.markets.find((x) => x.market === state.view);
    const t = m || st.totals;
    const live = $("live");
    const s = m ? m.status : (st.markets.every((x) => x.status === "ok") ? "ok" : "stale");
    live.className = "pill " + s;
    live.textContent = m ? `${s} · block ${m.block ?? "–"} · ${num(m.data_age_s, 0)} s old`
      : `${s} · ${st.markets_reporting}/${st.markets.length} markets`;
    cards([
      ["accounts with debt", (t.accounts_with_debt ?? 0).toLocaleString()],
      ["debt", usd(t.debt_usd)], ["collateral", usd(t.collateral_usd)],
      ["liquidatable debt", usd(t.liquidatable_debt_usd), t.liquidatable_debt_usd > 0 ? "bad" : ""],
      ["liquidatable accounts", String(t.liquidatable_accounts ?? 0)],
      ["toxic accounts", String(t.toxic_accounts ?? 0)],
      ["waiting for the oracle", usd(t.lookahead_liquidatable_debt_usd), t.lookahead_liquidatable_debt_usd > 0 ? "bad" : ""],
      ["alerts firing", String(st.alerts_firing), st.alerts_firing ? "bad" : ""],
    ]);
  }

  function drawAlerts(a) {
    rows("alerts-active", a.active, (x) => `<tr class="firing"><td>${esc(x.market)}</td><td class="l">${esc(x.rule)}</td>` +
      `<td>${esc(x.severity)}</td><td>${value(x.value)}</td></tr>`, "no alert firing");
    rows("alerts-history", a.history.slice(0, 100), (e) => `<tr class="${e.state}"><td>${e.block}</td>` +
      `<td class="l">${esc(e.market)}</td><td class="l">${esc(e.rule)}</td><td>${esc(e.state)}</td><td>${value(e.value)}</td></tr>`,
      "no alert event yet");
  }

  function drawTop(doc) {
    rows("top", doc.accounts, (a) => `<tr><td>${a.rank}</td><td class="addr" title="${esc(a.address)}">` +
      `${esc(a.address.slice(0, 8))}…${esc(a.address.slice(-4))}</td>` +
      `<td class="${a.health_factor < 1 ? "bad" : ""}">${num(a.health_factor, 4)}</td><td>${usd(a.debt_usd)}</td>` +
      `<td>${usd(a.collateral_usd)}</td></tr>`, "no account with debt");
  }

  function drawPools(doc) {
    rows("pools", doc.pools, (p) => `<tr><td title="${esc(p.address)}">${esc(p.pair)}</td><td>${usd(p.price_usd)}</td>` +
      `<td>${usd(p.depth_down_usd["0.02"])}</td><td>${usd(p.depth_down_usd["0.05"])}</td>` +
      `<td>${usd(p.depth_down_usd["0.1"])}</td><td>${usd(p.depth_up_usd["0.02"])}</td></tr>`, "no pool configured");
    rows("deviation", doc.deviation, (d) => `<tr><td>${esc(d.symbol)}</td><td>${usd(d.oracle_price_usd)}</td>` +
      `<td>${usd(d.dex_price_usd)}</td><td class="${Math.abs(d.deviation) > 0.02 ? "bad" : ""}">` +
      `${pct(d.deviation, 2)}</td></tr>`, "no priced pool");
  }

  function assetsFor(risk) {
    const pick = $("wi-asset");
    const list = risk.assets.map((a) => a.symbol);
    if (list.length && [...pick.options].map((o) => o.value).join() !== list.join()) {
      const was = pick.value;
      pick.innerHTML = list.map((n) => `<option>${esc(n)}</option>`).join("");
      if (list.includes(was)) pick.value = was;
    }
  }

  // -- what-if -------------------------------------------------------------------------------------------
  async function whatIf(ev) {
    ev.preventDefault();
    const out = $("wi-out");
    const drop = Number($("wi-drop").value) / 100;
    const q = new URLSearchParams({ asset: $("wi-asset").value, drop: String(drop) });
    out.textContent = "projecting…";
    try {
      const d = await api("what-if?" + q);
      state.whatIf = d;
      const sym = d.symbols;
      const head = Object.keys(d.final_prices_usd).filter((a) => d.rounds.some((r) => r.oracle_prices_usd[a] !== d.rounds[0].oracle_prices_usd[a]) || sym[a] === d.asset);
      out.innerHTML = `<p id="wi-summary" data-block="${d.block}" data-debt-repaid-usd="${d.debt_repaid_usd}" ` +
        `data-bad-debt-usd="${d.bad_debt_usd}" data-bad-debt-accounts="${d.bad_debt_accounts}" data-rounds="${d.rounds.length}">` +
        `${esc(d.asset)} −${pct(d.drop)} at block ${d.block}: final drop <b>${pct(d.final_drop, 2)}</b>, amplification ` +
        `<b>${num(d.amplification, 3)}</b>, debt repaid <b>${usd(d.debt_repaid_usd)}</b>, bad debt <b>${usd(d.bad_debt_usd)}</b> ` +
        `on ${d.bad_debt_accounts} accounts, ${d.rounds.length} rounds</p>` +
        `<div class="scroll"><table><thead><tr><th>round</th><th>liquidated</th><th>debt repaid $</th><th>bad debt $</th>` +
        head.map((a) => `<th>${esc(sym[a])} $</th>`).join("") + `</tr></thead><tbody>` +
        d.rounds.map((r) => `<tr><td>${r.round}</td><td>${r.accounts_liquidated}</td><td>${usd(r.debt_repaid_usd)}</td>` +
          `<td>${usd(r.bad_debt_usd)}</td>` + head.map((a) => `<td>${num(r.oracle_prices_usd[a], 2)}</td>`).join("") +
          `</tr>`).join("") + `</tbody></table></div>`;
    } catch (e) {
      out.innerHTML = `<p class="err">${esc(e.message)}</p>`;
    }
  }

  // -- the loop ------------------------------------------------------------------------------------------
  async function update() {
    const [st, alerts] = await Promise.all([get("/api/v1/status"), get("/api/v1/alerts")]);
    state.status = st;
    drawStatus(st);
    drawAlerts(alerts);
    document.body.classList.toggle("system", !state.view);
    $("system-panel").style.display = state.view ? "none" : "";
    if (state.view) $("system-projection").style.display = "none";
    if (!state.view) {
      if (st.distribution) drawDistribution(st.distribution);
      drawSystem(st.projection);
      state.key = "system:" + st.markets.map((m) => m.block).join(",");
      return;
    }
    const m = st.markets.find((x) => x.market === state.view);
    if (!m || m.block == null) return;
    const key = state.view + ":" + m.block;
    if (key === state.key) return;
    const [dist, top, risk, scen, pools, crit] = await Promise.all(
      ["distribution", "top", "collateral-at-risk", "scenarios", "pools", "critical-shocks"].map(api));
    drawDistribution(dist); drawTop(top); drawAtRisk(risk); drawPath(scen); drawPathByTime(scen); drawPools(pools); drawCritical(crit);
    assetsFor(risk);
    state.scenarios = scen;
    state.key = key;
    state.block = m.block;
  }

  async function loop() {
    try {
      await update();
      state.updates += 1;
    } catch (e) {
      $("live").className = "pill errored";
      $("live").textContent = "no answer: " + e.message;
    }
    setTimeout(loop, POLL_MS);
  }

  $("view").addEventListener("change", (e) => {
    state.view = e.target.value; state.key = null;
    for (const id of Object.keys(state.charts)) { state.charts[id].destroy(); delete state.charts[id]; }
    history.replaceState(null, "", state.view ? "#" + encodeURIComponent(state.view) : "#");
    update().catch(() => {});
  });
  $("scenario").addEventListener("change", () => { if (state.scenarios) { drawPath(state.scenarios); drawPathByTime(state.scenarios); } });
  $("what-if").addEventListener("submit", whatIf);
  window.addEventListener("resize", () => { state.key = null; });
  state.view = decodeURIComponent(location.hash.slice(1));
  loop();
})();
