// The Switchyard dashboard. Plain browser JavaScript, no build step. It logs in once (the admin
// token is traded for an HttpOnly session cookie and never kept here), then follows
// /v1/admin/dashboard/stream for the live numbers, reloads the clients and queues table every
// few seconds with the content labels and anomalies, and browses and redrives dead letters through
// the admin API. Everything that comes
// from the service is written with textContent: no markup from data, ever.
'use strict';

(() => {
  const MAX_POINTS = 900; // per chart: 30 minutes at the default 2 s
  const QUEUES_EVERY_MS = 5_000;
  const DEAD_LETTER_PAGE = 50;
  const COLORS = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#ea580c', '#0891b2'];

  const $ = (id) => document.getElementById(id);
  const number = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });
  const tick = new Intl.NumberFormat('en', { maximumFractionDigits: 2 }); // axes step by 0.25 on small ranges
  const fmt = (value) => (value === null || value === undefined ? '–' : number.format(value));

  function fmtSeconds(seconds) {
    if (seconds === null || seconds === undefined) return '–';
    if (seconds < 60) return `${number.format(seconds)} s`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
    if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
    return `${number.format(seconds / 86400)} days`;
  }

  const ageOf = (iso) => (iso ? Math.max(0, (Date.now() - Date.parse(iso)) / 1000) : null);
  const time = (iso) => (iso ? new Date(iso).toLocaleString() : '–');

  // ----------------------------------------------------------------------------------------------
  // Talking to the service: same origin, the session cookie goes along by itself.

  class SessionEnded extends Error {}

  async function call(method, path, body) {
    const response = await fetch(path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
    const text = await response.text();
    const data = text ? JSON.parse(text) : undefined;
    if (response.status === 401) throw new SessionEnded(data?.detail ?? 'log in again');
    if (!response.ok) throw new Error(data?.detail ?? `${method} ${path}: ${response.status}`);
    return data;
  }

  function showProblem(error) {
    if (error instanceof SessionEnded) return showLogin(error.message);
    $('problem').textContent = String(error.message ?? error);
    $('problem').hidden = false;
  }

  function clearProblem() {
    $('problem').hidden = true;
  }

  // ----------------------------------------------------------------------------------------------
  // Charts: each keeps its own history of {t, values by series name}, so a series that appears
  // later (a stage) just starts there.

  class LiveChart {
    constructor(element) {
      this.element = element;
      this.history = [];
      this.names = [];
      this.plot = undefined;
    }

    add(t, values) {
      this.history.push({ t, values });
      if (this.history.length > MAX_POINTS) this.history.shift();
      const names = Object.keys(values);
      if (this.plot === undefined || names.join('\n') !== this.names.join('\n')) this.build(names);
      else this.plot.setData(this.data());
    }

    data() {
      return [this.history.map((h) => h.t), ...this.names.map((name) => this.history.map((h) => h.values[name] ?? null))];
    }

    build(names) {
      this.plot?.destroy();
      this.names = names;
      this.plot = new uPlot({
        width: this.width(),
        height: 200,
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, (max || 0) * 1.1)] } },
        axes: [{}, { size: 60, values: (_u, ticks) => ticks.map((v) => tick.format(v)) }],
        series: [{}, ...names.map((name, i) => ({
          label: name, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: true, value: (_u, v) => fmt(v),
        }))],
      }, this.data(), this.element);
    }

    width() {
      return Math.max(240, this.element.clientWidth);
    }

    resize() {
      this.plot?.setSize({ width: this.width(), height: 200 });
    }
  }

  const charts = {
    throughput: new LiveChart($('chart-throughput')),
    depth: new LiveChart($('chart-depth')),
    oldest: new LiveChart($('chart-oldest')),
    lag: new LiveChart($('chart-lag')),
    dead: new LiveChart($('chart-dead')),
  };
  window.addEventListener('resize', () => Object.values(charts).forEach((chart) => chart.resize()));

  // ----------------------------------------------------------------------------------------------
  // The live numbers.

  function render(s) {
    const t = Date.parse(s.at) / 1000;
    const lag = s.stages.reduce((worst, stage) => Math.max(worst, stage.lag_seconds), 0);
    const dead = s.dead_letters.clients + s.dead_letters.stages;
    $('tile-published').textContent = fmt(s.throughput.published_per_second);
    $('tile-delivered').textContent = fmt(s.throughput.delivered_per_second);
    $('tile-depth').textContent = fmt(s.queues.depth);
    $('tile-in-flight').textContent = fmt(s.queues.in_flight);
    $('tile-oldest').textContent = fmtSeconds(s.queues.oldest_age_seconds);
    $('tile-lag').textContent = s.stages.length === 0 ? '–' : fmtSeconds(lag);
    $('tile-dead').textContent = fmt(dead);
    $('counted').textContent = s.queues.counted_at
      ? `Queues counted ${fmtSeconds(ageOf(s.queues.counted_at))} ago; rates over the last ${fmt(s.throughput.window_seconds)} s.`
      : 'Queues have not been counted yet: is a process with the upkeep role running?';

    charts.throughput.add(t, {
      published: s.throughput.published_per_second,
      delivered: s.throughput.delivered_per_second,
      'dead-lettered': s.throughput.dead_lettered_per_second,
    });
    charts.depth.add(t, { waiting: s.queues.depth, visible: s.queues.visible, 'in flight': s.queues.in_flight, delayed: s.queues.delayed });
    charts.oldest.add(t, { oldest: s.queues.oldest_age_seconds ?? 0 });
    charts.lag.add(t, Object.fromEntries(s.stages.map((stage) => [stage.stage, stage.lag_seconds])));
    charts.dead.add(t, { 'client queues': s.dead_letters.clients, stages: s.dead_letters.stages });

    fillTable($('stages'), s.stages, 'no stage has a cursor yet', (stage) => [
      cell(stage.stage),
      cell(fmtSeconds(stage.lag_seconds), 'num'),
      cell(`${stage.rows_capped ? '≥ ' : ''}${fmt(stage.rows_behind)}`, 'num'),
    ]);
    fillTable($('circuits'), s.circuits, 'no webhook endpoints', (w) => [
      cell(w.client_name),
      cell(w.url),
      cell(w.enabled ? w.circuit_state.replace('_', '-') : 'disabled', w.enabled && w.circuit_state === 'closed' ? '' : 'warn'),
      cell(w.circuit_changed_at ? fmtSeconds(ageOf(w.circuit_changed_at)) : '–', 'num'),
      cell(w.last_error ?? ''),
    ]);
    // A p99 over half the lease is one slow call away from redeliveries: say so, with the fix.
    fillTable($('processing'), s.processing, 'no acks in the last 5 minutes', (p) => [
      cell(p.client_name),
      cell(fmt(p.acked), 'num'),
      cell(fmtSeconds(p.p50_ms / 1000), 'num'),
      cell(fmtSeconds(p.p95_ms / 1000), 'num'),
      cell(fmtSeconds(p.p99_ms / 1000), 'num'),
      cell(fmtSeconds(p.visibility_ms / 1000), 'num'),
      cell(p.at_risk ? `p99 over half the lease: use visibility=${p.recommended_visibility_seconds}` : 'ok', p.at_risk ? 'warn' : ''),
    ]);
  }

  let stream;

  function follow() {
    stream?.close();
    stream = new EventSource('/v1/admin/dashboard/stream');
    stream.addEventListener('open', () => setStatus('live', 'live'));
    stream.addEventListener('snapshot', (event) => {
      render(JSON.parse(event.data));
      setStatus('live', `live · ${new Date().toLocaleTimeString()}`);
    });
    stream.addEventListener('closed', () => showLogin('The session has ended: log in again.'));
    stream.addEventListener('error', async () => {
      setStatus('down', 'reconnecting');
      // The browser retries by itself unless the answer was not a stream (a 401 after the session ended).
      if (stream.readyState !== EventSource.CLOSED) return;
      try {
        await call('GET', '/v1/admin/dashboard/snapshot');
        setTimeout(follow, 2_000);
      } catch (error) {
        showProblem(error);
      }
    });
  }

  function setStatus(kind, text) {
    $('status').className = `status ${kind}`;
    $('status').textContent = text;
  }

  // ----------------------------------------------------------------------------------------------
  // Tables.

  function cell(text, className) {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function fillTable(table, rows, emptyText, cells, append = false) {
    const body = table.tBodies[0];
    if (!append) body.replaceChildren();
    for (const row of rows) {
      const tr = document.createElement('tr');
      tr.append(...cells(row));
      body.append(tr);
    }
    if (body.rows.length === 0) {
      const td = cell(emptyText, 'empty');
      td.colSpan = table.tHead.rows[0].cells.length;
      const tr = document.createElement('tr');
      tr.append(td);
      body.append(tr);
    }
  }

  async function loadQueues() {
    try {
      const { queues } = await call('GET', '/v1/admin/dashboard/queues');
      fillTable($('queues'), queues, 'no clients yet', (q) => {
        const dead = cell('', 'num');
        if (q.dead_letters > 0) {
          const show = document.createElement('button');
          show.type = 'button';
          show.textContent = fmt(q.dead_letters);
          show.title = `show the dead letters of ${q.client_name}`;
          show.addEventListener('click', () => {
            $('dlq-client').value = q.client_id;
            $('dlq-error').value = '';
            loadDeadLetters();
          });
          dead.append(show);
        } else {
          dead.textContent = '0';
        }
        return [
          cell(`${q.client_name} #${q.client_id}`),
          cell(q.listen_to.join(', '), 'wrap'),
          cell(fmt(q.depth), 'num'),
          cell(fmt(q.visible), 'num'),
          cell(fmt(q.in_flight), 'num'),
          cell(fmt(q.delayed), 'num'),
          cell(fmtSeconds(ageOf(q.oldest_enqueued_at)), 'num'),
          dead,
        ];
      });
    } catch (error) {
      showProblem(error);
    }
  }

  // ----------------------------------------------------------------------------------------------
  // Analytics: labels per classified topic, anomalies, and the seasonal band of one series with
  // its anomalies marked.

  const BAND_MINUTES = 180;
  let bandPlot;

  async function loadAnalytics() {
    try {
      const classifier = await call('GET', '/v1/admin/classifier');
      $('labels-model').textContent = classifier.model
        ? `Model version ${classifier.model.version}, trained ${new Date(classifier.model.trained_at).toLocaleString()}; ${classifier.topics.length} topic(s) classified.`
        : `No model trained yet; ${classifier.topics.length} topic(s) classified.`;
      fillTable($('labels'), classifier.labels_last_hour, 'no labels in the last hour', (l) => [
        cell(`topic:${l.topic}`), cell(l.label), cell(fmt(l.messages), 'num'), cell(fmt(l.mean_score), 'num'),
      ]);
      const { anomalies } = await call('GET', '/v1/admin/anomalies?minutes=1440');
      fillTable($('anomalies'), anomalies, 'no anomalies', (a) => {
        const address = cell('');
        const show = document.createElement('button');
        show.type = 'button';
        show.textContent = a.series.key;
        show.title = 'show this series with its band';
        show.addEventListener('click', () => showBand(a.series.key, a.series.kind));
        address.append(show);
        return [
          cell(new Date(a.window_start).toLocaleString()), cell(a.window_end ? new Date(a.window_end).toLocaleTimeString() : '–'),
          address, cell(a.series.kind), cell(a.direction), cell(fmt(a.observed), 'num'),
          cell(`${fmt(a.band.low)} – ${fmt(a.band.high)}`, 'num'), cell(fmt(a.severity), 'num'), cell(a.state),
        ];
      });
    } catch (error) {
      showProblem(error);
    }
  }

  async function showBand(address, kind) {
    $('band-address').value = address;
    $('band-kind').value = kind;
    try {
      const query = new URLSearchParams({ address, kind, minutes: String(BAND_MINUTES) });
      const band = await call('GET', `/v1/admin/anomalies/band?${query}`);
      const t = band.points.map((p) => Date.parse(p.minute) / 1000);
      // An anomaly is marked at every minute of its window.
      const marked = band.points.map((p) => {
        const at = Date.parse(p.minute);
        const hit = band.anomalies.some((a) => at >= Date.parse(a.window_start) && (a.window_end === null || at <= Date.parse(a.window_end)));
        return hit ? p.observed : null;
      });
      const data = [t, band.points.map((p) => p.observed), band.points.map((p) => p.low), band.points.map((p) => p.high), marked];
      $('band').hidden = false;
      $('band-caption').textContent = `${address}, ${kind}: the last ${BAND_MINUTES} minutes, the seasonal band (none while the series has under two days of history) and its anomalies`;
      bandPlot?.destroy();
      bandPlot = new uPlot({
        width: Math.max(240, $('chart-band').clientWidth), height: 220,
        scales: { x: { time: true } },
        axes: [{}, { size: 60, values: (_u, ticks) => ticks.map((v) => tick.format(v)) }],
        series: [
          {},
          { label: 'observed', stroke: COLORS[0], width: 2, value: (_u, v) => fmt(v) },
          { label: 'band low', stroke: '#94a3b8', dash: [4, 4], value: (_u, v) => fmt(v) },
          { label: 'band high', stroke: '#94a3b8', dash: [4, 4], value: (_u, v) => fmt(v) },
          { label: 'anomaly', stroke: COLORS[2], paths: () => null, points: { show: true, size: 8, fill: COLORS[2] }, value: (_u, v) => fmt(v) },
        ],
        bands: [{ series: [3, 2], fill: 'rgba(148, 163, 184, 0.2)' }],
      }, data, $('chart-band'));
    } catch (error) {
      showProblem(error);
    }
  }

  $('band-filter').addEventListener('submit', (event) => {
    event.preventDefault();
    showBand($('band-address').value.trim(), $('band-kind').value);
  });

  // ----------------------------------------------------------------------------------------------
  // Dead letters: browse with the filter, page back with "Older", redrive one or all.

  let olderThan = null;

  function deadLetterFilter() {
    const filter = {};
    const client = $('dlq-client').value.trim();
    const error = $('dlq-error').value.trim();
    if (client) filter.client_id = client;
    if (error) filter.error = error;
    return filter;
  }

  async function loadDeadLetters(more = false) {
    try {
      const query = new URLSearchParams({ ...deadLetterFilter(), limit: String(DEAD_LETTER_PAGE) });
      if (more && olderThan) query.set('before', olderThan);
      const page = await call('GET', `/v1/admin/dead-letters?${query}`);
      olderThan = page.next_before;
      $('dlq-older').hidden = olderThan === null;
      fillTable($('dead-letters'), page.dead_letters, 'no dead letters match', deadLetterCells, more);
    } catch (error) {
      showProblem(error);
    }
  }

  function deadLetterCells(d) {
    const payload = document.createElement('td');
    const details = document.createElement('details');
    const summary = document.createElement('summary');
    const pre = document.createElement('pre');
    summary.textContent = 'show';
    pre.textContent = JSON.stringify(d.payload, null, 2);
    details.append(summary, pre);
    payload.append(details);

    const action = document.createElement('td');
    const redrive = document.createElement('button');
    redrive.type = 'button';
    redrive.textContent = 'Redrive';
    redrive.dataset.messageId = d.id;
    // The admin API redrives by filter: this client, and the millisecond this letter died in.
    const since = new Date(Date.parse(d.dead_at));
    const until = new Date(since.getTime() + 1);
    redrive.addEventListener('click', () => runRedrive(
      { client_id: d.client_id, since: since.toISOString(), until: until.toISOString() },
      `message ${d.id} to ${d.client_name}`,
      redrive,
    ));
    action.append(redrive);

    return [
      cell(time(d.dead_at)),
      cell(`${d.client_name} #${d.client_id}`),
      cell(d.to ?? '–'),
      cell(d.type ?? '–'),
      cell(d.reason),
      cell(String(d.receive_count), 'num'),
      cell(d.last_error ?? '–', 'wrap'),
      payload,
      action,
    ];
  }

  async function runRedrive(filter, what, button) {
    button.disabled = true;
    try {
      let moved = 0;
      let result;
      // The API works in bounded batches; go on while it says there is more and it moves some.
      do {
        result = await call('POST', '/v1/admin/dead-letters/redrive', filter);
        moved += result.moved;
      } while (!result.done && result.moved > 0);
      $('dlq-result').textContent = `Redrove ${fmt(moved)} (${what}); ${fmt(result.remaining)} still match.`;
      await Promise.all([loadDeadLetters(), loadQueues()]);
    } catch (error) {
      showProblem(error);
    } finally {
      button.disabled = false;
    }
  }

  $('dlq-filter').addEventListener('submit', (event) => {
    event.preventDefault();
    loadDeadLetters();
  });
  $('dlq-older').addEventListener('click', () => loadDeadLetters(true));
  $('dlq-redrive-all').addEventListener('click', (event) => {
    const filter = deadLetterFilter();
    const what = Object.keys(filter).length === 0 ? 'every dead letter' : `the dead letters matching ${JSON.stringify(filter)}`;
    if (window.confirm(`Put ${what} back in their queues?`)) runRedrive(filter, what, event.currentTarget);
  });

  // ----------------------------------------------------------------------------------------------
  // Logging in and out, and starting.

  let queuesTimer;

  function showLogin(message = '') {
    stream?.close();
    clearInterval(queuesTimer);
    clearProblem();
    $('board').hidden = true;
    $('logout').hidden = true;
    $('login').hidden = false;
    $('login-error').textContent = message;
    setStatus('down', 'logged out');
    $('token').focus();
  }

  async function start() {
    try {
      render(await call('GET', '/v1/admin/dashboard/snapshot'));
    } catch (error) {
      if (error instanceof SessionEnded) return showLogin();
      return showProblem(error);
    }
    clearProblem();
    $('login').hidden = true;
    $('board').hidden = false;
    $('logout').hidden = false;
    Object.values(charts).forEach((chart) => chart.resize());
    follow();
    loadQueues();
    loadDeadLetters();
    loadAnalytics();
    clearInterval(queuesTimer);
    queuesTimer = setInterval(() => {
      loadQueues();
      loadAnalytics();
    }, QUEUES_EVERY_MS);
  }

  $('login-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const token = $('token').value.trim();
    try {
      await call('POST', '/dashboard/session', { token });
      $('token').value = '';
      await start();
    } catch (error) {
      $('login-error').textContent = error.message;
    }
  });

  $('logout').addEventListener('click', async () => {
    await call('DELETE', '/dashboard/session').catch(() => undefined);
    showLogin('Logged out.');
  });

  start();
})();
