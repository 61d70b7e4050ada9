import uPlot from '/web/vendor/uPlot.esm.js';
import { el, table } from './dom.js';
import { formatTime, formatValue, t } from './i18n.js';

const DAY_MS = 86_400_000;

/**
 * A readings chart (uPlot) with its text alternative: a summary read by screen readers and a
 * table of the same numbers behind a disclosure. Returns a function that removes the chart.
 */
export async function readingsChart(container, point, api, { timeZone } = {}) {
  // The window is fixed (the last 24 hours), not derived from the data: one point, or none
  // for hours, still gives a 24-hour axis, drawn in the site's time zone (not the browser's).
  const toMs = Date.now();
  const fromMs = toMs - DAY_MS;
  const range = `from=${new Date(fromMs).toISOString()}&to=${new Date(toMs).toISOString()}`;
  const res = await api(`/api/points/${encodeURIComponent(point.key)}/readings?bucket=15m&${range}`);
  const label = point.name ?? point.id;
  const rows = res.status === 200 ? (res.body.buckets ?? []).filter((b) => b.mean !== null) : [];
  container.replaceChildren(el('h3', { text: t('chartTitle', { point: label }) }));
  if (rows.length === 0) {
    container.append(el('p', { class: 'muted', text: t('chartEmpty', { point: label }) }));
    return () => {};
  }
  const xs = rows.map((b) => Date.parse(b.ts) / 1000);
  const ys = rows.map((b) => b.mean);
  const summary = t('chartSummary', {
    point: label,
    min: formatValue(Math.min(...ys), point.unit),
    max: formatValue(Math.max(...ys), point.unit),
    last: formatValue(ys[ys.length - 1], point.unit),
  });
  const figure = chartFrame(container, {
    summary,
    attrs: { 'data-time-zone': timeZone ?? '' },
    caption: t('chartTitle', { point: label }),
    head: [timeLabel(timeZone), `${t('average')} (${point.unit})`],
    rows: rows.map((b) =>
      el(
        'tr',
        {},
        el('td', { text: formatTime(Date.parse(b.ts), timeZone) }),
        el('td', { class: 'num', text: formatValue(b.mean, point.unit) }),
      ),
    ),
  });
  return plotIn(
    figure,
    container,
    {
      height: 280,
      ...timeOptions(timeZone),
      scales: { x: { time: true, range: () => [fromMs / 1000, toMs / 1000] } },
      hooks: {
        // The axis uPlot actually drew, on the figure (tests read it; canvas text is not in the DOM).
        setScale: [
          (u, key) => {
            if (key !== 'x') return;
            figure.dataset.axisFrom = new Date(u.scales.x.min * 1000).toISOString();
            figure.dataset.axisTo = new Date(u.scales.x.max * 1000).toISOString();
          },
        ],
      },
      series: [
        { label: timeLabel(timeZone) },
        { label: `${label} (${point.unit})`, stroke: '#0b5cad', width: 2, points: { show: ys.length < 3 } },
      ],
      axes: [
        { label: timeLabel(timeZone) },
        { label: point.unit, values: (_u, ticks) => ticks.map((v) => formatValue(v, point.unit)), size: 80 },
      ],
    },
    [xs, ys],
  );
}

/**
 * A uPlot chart in `figure` that follows the page's width (at least 280 px, so it stays
 * legible on a phone). Returns the function that removes it.
 */
export function plotIn(figure, container, options, data) {
  const width = () => Math.max(280, figure.clientWidth || container.clientWidth || 600);
  const plot = new uPlot({ ...options, width: width() }, data, figure);
  // The value axis' unit, on the figure (tests read it; canvas text is not in the DOM).
  figure.dataset.yUnit = options.axes?.[1]?.label ?? '';
  const onResize = () => plot.setSize({ width: width(), height: options.height });
  window.addEventListener('resize', onResize);
  return () => {
    window.removeEventListener('resize', onResize);
    plot.destroy();
  };
}

/**
 * A chart's text alternative around the figure uPlot draws in: the figure is an image named by
 * `summary`, the summary is also printed, and the same numbers follow as a table behind a
 * disclosure. Returns the figure.
 */
export function chartFrame(
  container,
  { summary, caption, head, rows, attrs = {}, summaryId, tableId, toggle = t('chartTable') },
) {
  const figure = el('div', { class: 'chart', role: 'img', 'aria-label': summary, ...attrs });
  container.append(
    figure,
    el('p', { class: 'muted', id: summaryId, text: summary }),
    el('details', {}, el('summary', { text: toggle }), table(caption, head, rows, { id: tableId })),
  );
  return figure;
}

/** A bar series (uPlot) in `stroke` and `fill`; `align` -1/1 puts two series side by side. */
export function barSeries(label, stroke, fill, { size = [0.4, 30], align = 0 } = {}) {
  return { label, stroke, fill, paths: uPlot.paths.bars({ size, align }), points: { show: false } };
}

/** The x axis of a chart over time, in the site's time zone when given (not the browser's). */
export function timeOptions(timeZone) {
  return timeZone ? { tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), timeZone) } : {};
}

/** "Time (Europe/Zurich)": the heading of a time column or axis, naming the zone when known. */
export const timeLabel = (timeZone) => (timeZone ? `${t('time')} (${timeZone})` : t('time'));
