// Hand-written SVG charts: a stacked bar chart with an optional comparison
// line, and a line chart. They render at their container's pixel width
// (ResizeObserver), so text stays readable on a phone.
import { useEffect, useRef, useState, type ReactNode } from 'react';

export interface Series {
  name: string;
  color: string;
  /** one value per label; null leaves a gap (a line chart's bucket with no data) */
  values: (number | null)[];
  dashed?: boolean;
}

const H = 200;
const PAD = { l: 48, r: 12, t: 12, b: 26 };

function useWidth<T extends HTMLElement>(): [React.RefObject<T | null>, number] {
  const ref = useRef<T>(null);
  const [w, setW] = useState(0);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver((es) => setW(Math.floor(es[0].contentRect.width)));
    ro.observe(el);
    setW(Math.floor(el.getBoundingClientRect().width));
    return () => ro.disconnect();
  }, []);
  return [ref, w];
}

/** niceMax rounds max up to 1, 2, 2.5 or 5 times a power of ten, for axis ticks. */
function niceMax(max: number): number {
  if (max <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(max)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

function Legend({ series }: { series: Series[] }) {
  return (
    <div className="legend">
      {series.map((s) => (
        <span key={s.name} className="legend-item">
          <span className={'legend-swatch' + (s.dashed ? ' dashed' : '')} style={{ borderColor: s.color, background: s.dashed ? 'transparent' : s.color }} />
          {s.name}
        </span>
      ))}
    </div>
  );
}

interface Frame {
  w: number;
  x0: number;
  plotW: number;
  max: number;
  y: (v: number) => number;
}

function Axes({ f, labels, fmt }: { f: Frame; labels: string[]; fmt: (v: number) => string }) {
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((k) => k * f.max);
  const n = labels.length;
  const step = Math.max(1, Math.ceil(n / Math.max(2, Math.floor(f.plotW / 64))));
  const bw = f.plotW / Math.max(1, n);
  return (
    <g className="axes">
      {ticks.map((v) => (
        <g key={v}>
          <line x1={f.x0} x2={f.w - PAD.r} y1={f.y(v)} y2={f.y(v)} className="grid" />
          <text x={f.x0 - 6} y={f.y(v) + 4} textAnchor="end">{fmt(v)}</text>
        </g>
      ))}
      {labels.map((l, i) =>
        i % step === 0 ? (
          <text key={i} x={f.x0 + bw * i + bw / 2} y={H - 8} textAnchor="middle">{l}</text>
        ) : null,
      )}
    </g>
  );
}

function frame(w: number, max: number): Frame {
  const x0 = PAD.l;
  const plotW = Math.max(10, w - PAD.l - PAD.r);
  const m = niceMax(max);
  return { w, x0, plotW, max: m, y: (v: number) => PAD.t + (H - PAD.t - PAD.b) * (1 - v / m) };
}

function linePath(f: Frame, values: (number | null)[], n: number): string {
  const bw = f.plotW / Math.max(1, n);
  let pen = false;
  return values
    .map((v, i) => {
      if (v === null) {
        pen = false;
        return '';
      }
      const cmd = pen ? 'L' : 'M';
      pen = true;
      return `${cmd}${(f.x0 + bw * i + bw / 2).toFixed(1)},${f.y(v).toFixed(1)}`;
    })
    .join(' ');
}

/** Chart is the box both charts draw in: the title, the SVG at the box's
 * width with its axes, and the legend; plot draws the data in the frame (bw
 * is the width of one label's slot). */
function Chart({ labels, max, fmt, title, testId, legend, plot }: {
  labels: string[]; max: number; fmt: (v: number) => string; title?: ReactNode; testId?: string;
  legend: Series[]; plot: (f: Frame, bw: number) => ReactNode;
}) {
  const [ref, w] = useWidth<HTMLDivElement>();
  const f = frame(w, max);
  const bw = f.plotW / Math.max(1, labels.length);
  return (
    <div className="chart" ref={ref} data-testid={testId}>
      {title ? <div className="chart-title">{title}</div> : null}
      {w > 0 ? (
        <svg width={w} height={H} role="img">
          <Axes f={f} labels={labels} fmt={fmt} />
          {plot(f, bw)}
        </svg>
      ) : (
        <div style={{ height: H }} />
      )}
      <Legend series={legend} />
    </div>
  );
}

/** BarChart stacks series per label; compare, if given, is drawn as a dashed line over the bars. */
export function BarChart({ labels, series, compare, fmt, title, testId }: {
  labels: string[]; series: Series[]; compare?: Series; fmt: (v: number) => string; title?: ReactNode; testId?: string;
}) {
  const totals = labels.map((_, i) => series.reduce((a, s) => a + (s.values[i] ?? 0), 0));
  const max = Math.max(0, ...totals, ...(compare?.values ?? []).map((v) => v ?? 0));
  return (
    <Chart labels={labels} max={max} fmt={fmt} title={title} testId={testId}
      legend={compare ? [...series, { ...compare, dashed: true }] : series}
      plot={(f, bw) => {
        const gap = Math.min(6, bw * 0.25);
        return (
          <>
            {labels.map((l, i) => {
              let acc = 0;
              return (
                <g key={i}>
                  {series.map((s) => {
                    const v = s.values[i] ?? 0;
                    if (!v) return null;
                    const y1 = f.y(acc);
                    acc += v;
                    const y2 = f.y(acc);
                    return (
                      <rect key={s.name} x={f.x0 + bw * i + gap / 2} y={y2} width={Math.max(1, bw - gap)} height={Math.max(0.5, y1 - y2)} fill={s.color} rx={Math.min(2, bw / 6)}>
                        <title>{`${l} · ${s.name}: ${fmt(v)}`}</title>
                      </rect>
                    );
                  })}
                </g>
              );
            })}
            {compare ? <path d={linePath(f, compare.values, labels.length)} className="line" stroke={compare.color} strokeDasharray="5 4" /> : null}
          </>
        );
      }} />
  );
}

/** LineChart draws each series as a line with dots. */
export function LineChart({ labels, series, fmt, title, testId }: {
  labels: string[]; series: Series[]; fmt: (v: number) => string; title?: ReactNode; testId?: string;
}) {
  const max = Math.max(0, ...series.flatMap((s) => s.values.map((v) => v ?? 0)));
  return (
    <Chart labels={labels} max={max} fmt={fmt} title={title} testId={testId} legend={series}
      plot={(f, bw) => series.map((s) => (
        <g key={s.name}>
          <path d={linePath(f, s.values, labels.length)} className="line" stroke={s.color} strokeDasharray={s.dashed ? '5 4' : undefined} />
          {labels.length <= 40
            ? s.values.map((v, i) => v === null ? null : (
                <circle key={i} cx={f.x0 + bw * i + bw / 2} cy={f.y(v)} r={2.5} fill={s.color}>
                  <title>{`${labels[i]} · ${s.name}: ${fmt(v)}`}</title>
                </circle>
              ))
            : null}
        </g>
      ))} />
  );
}

/** HBars is a ranked list with proportional bars (top models, top providers). */
export function HBars({ rows, fmt, color }: { rows: { label: string; value: number; sub?: string }[]; fmt: (v: number) => string; color: string }) {
  const max = Math.max(1, ...rows.map((r) => r.value));
  return (
    <ol className="hbars">
      {rows.map((r) => (
        <li key={r.label}>
          <div className="hbar-text">
            <span className="hbar-label" title={r.label}>{r.label}</span>
            <span className="hbar-value">{fmt(r.value)}{r.sub ? <span className="muted"> · {r.sub}</span> : null}</span>
          </div>
          <div className="hbar-track"><div className="hbar-fill" style={{ width: `${(r.value / max) * 100}%`, background: color }} /></div>
        </li>
      ))}
    </ol>
  );
}
