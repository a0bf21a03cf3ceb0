// Overview: the usage of the chosen range against the previous one of the
// same length, as numbers and charts, with the top models and providers.
import { useState } from 'react';
import { get, qs, type List, type UsageRow } from '../api';
import { BarChart, HBars, LineChart } from '../components/charts';
import { Card, ErrorBox, Loading, PageHeader, Stat, useAsync } from '../components/ui';
import { delta, fmtCompact, fmtInt, fmtMs, fmtShortTime } from '../format';
import { useI18n, type MsgKey } from '../i18n';
import { formatCreditsString, formatMicro, percent } from '../money';
import { useSession } from '../session';

type RangeId = '24h' | '7d' | '30d';
const RANGES: { id: RangeId; label: MsgKey; bucket: 'hour' | 'day'; n: number }[] = [
  { id: '24h', label: 'range24h', bucket: 'hour', n: 24 },
  { id: '7d', label: 'range7d', bucket: 'day', n: 7 },
  { id: '30d', label: 'range30d', bucket: 'day', n: 30 },
];
const HOUR = 3600_000;
const DAY = 24 * HOUR;

const zero: UsageRow = {
  bucket: '', calls: 0, errors: 0, aborted: 0, prompt_tokens: 0, completion_tokens: 0, cached_tokens: 0, cache_write_tokens: 0,
  reasoning_tokens: 0, images: 0, charged: 0, charged_credits: '0', ttfb_p50_ms: 0, ttfb_p95_ms: 0, duration_p50_ms: 0, duration_p95_ms: 0,
};

interface Span {
  start: number;
  end: number;
  step: number;
  n: number;
  bucket: string;
}

/** window returns the range's buckets: whole hours, or whole UTC days, ending with the current one. */
function windowOf(r: (typeof RANGES)[number], now: number): Span {
  const step = r.bucket === 'hour' ? HOUR : DAY;
  const end = Math.floor(now / step) * step + step;
  return { start: end - r.n * step, end, step, n: r.n, bucket: r.bucket };
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function series(rows: UsageRow[], w: Span): UsageRow[] {
  const out = Array.from({ length: w.n }, () => zero);
  for (const r of rows) {
    if (!r.start) continue;
    const i = Math.round((Date.parse(r.start) - w.start) / w.step);
    if (i >= 0 && i < w.n) out[i] = r;
  }
  return out;
}

interface OverviewData {
  cur: Span;
  prev: Span;
  curSeries: UsageRow[];
  prevSeries: UsageRow[];
  total: UsageRow;
  prevTotal: UsageRow;
  models: UsageRow[];
  providers: UsageRow[];
}

const tokens = (r: UsageRow) => r.prompt_tokens + r.completion_tokens;

export function OverviewPage() {
  const { t } = useI18n();
  const { isAdmin } = useSession();
  const [rangeId, setRangeId] = useState<RangeId>('24h');
  const [now, setNow] = useState(() => Date.now());
  const range = RANGES.find((r) => r.id === rangeId)!;
  const base = isAdmin ? '/api/admin/usage' : '/api/usage';

  const { data, error, loading } = useAsync<OverviewData>(async () => {
    const cur = windowOf(range, now);
    const prev: Span = { ...cur, start: cur.start - cur.n * cur.step, end: cur.start };
    const q = (w: Span, group?: string) => get<List<UsageRow>>(base + qs({ bucket: w.bucket, since: iso(w.start), until: iso(w.end), group_by: group }));
    const [curSeries, prevSeries, curTotal, prevTotal, models, providers] = await Promise.all([
      q(cur, 'time'), q(prev, 'time'), q(cur), q(prev), q(cur, 'model'), q(cur, 'provider'),
    ]);
    return {
      cur, prev,
      curSeries: series(curSeries.data, cur),
      prevSeries: series(prevSeries.data, prev),
      total: curTotal.data[0] ?? zero,
      prevTotal: prevTotal.data[0] ?? zero,
      models: [...models.data].sort((a, b) => b.calls - a.calls).slice(0, 8),
      providers: [...providers.data].sort((a, b) => b.calls - a.calls).slice(0, 8),
    };
  }, [rangeId, now, base]);

  const tools = (
    <div className="segmented" role="group" aria-label={t('range')}>
      {RANGES.map((r) => (
        <button key={r.id} type="button" className={r.id === rangeId ? 'active' : ''} onClick={() => { setRangeId(r.id); setNow(Date.now()); }}>
          {t(r.label)}
        </button>
      ))}
      <button type="button" onClick={() => setNow(Date.now())} title={t('refresh')} aria-label={t('refresh')}>↻</button>
    </div>
  );

  return (
    <div>
      <PageHeader title={t('navOverview')} subtitle={t('overviewSub')} actions={tools} />
      <ErrorBox error={error} />
      {!data && loading ? <Loading /> : null}
      {data ? <OverviewBody d={data} /> : null}
    </div>
  );
}

function OverviewBody({ d }: { d: OverviewData }) {
  const { t, locale } = useI18n();
  const tot = d.total;
  const pt = d.prevTotal;
  const labels = d.curSeries.map((_, i) => fmtShortTime(new Date(d.cur.start + i * d.cur.step), locale, d.cur.bucket === 'day'));
  const compact = (v: number) => fmtCompact(v, locale);
  return (
    <>
      <div className="stats" data-testid="overview-stats">
        <Stat testId="stat-calls" label={t('calls')} value={fmtInt(tot.calls, locale)} change={pt.calls ? delta(tot.calls, pt.calls) : undefined}
          sub={t('prevPeriodValue', { v: fmtInt(pt.calls, locale) })} />
        <Stat testId="stat-tokens" label={t('tokens')} value={fmtInt(tokens(tot), locale)} change={delta(tokens(tot), tokens(pt))}
          sub={`${t('tokIn')} ${compact(tot.prompt_tokens)} · ${t('tokOut')} ${compact(tot.completion_tokens)} · ${t('tokCached')} ${compact(tot.cached_tokens)} · ${t('tokReasoning')} ${compact(tot.reasoning_tokens)}`} />
        <Stat testId="stat-credits" label={t('creditsCharged')} value={formatCreditsString(tot.charged_credits)} change={pt.charged ? delta(tot.charged, pt.charged) : undefined}
          sub={t('prevPeriodValue', { v: formatCreditsString(pt.charged_credits) })} />
        <Stat testId="stat-errors" label={t('errorRate')} value={percent(tot.errors, tot.calls)} lowerIsBetter
          change={tot.calls && pt.calls ? delta(tot.errors / tot.calls, pt.errors / pt.calls) : null}
          sub={t('errorsOfCalls', { e: fmtInt(tot.errors, locale), a: fmtInt(tot.aborted, locale) })} />
        <Stat testId="stat-ttfb" label={t('ttfb')} value={`${fmtMs(tot.ttfb_p50_ms)}`} lowerIsBetter change={delta(tot.ttfb_p50_ms, pt.ttfb_p50_ms)}
          sub={`p50 · p95 ${fmtMs(tot.ttfb_p95_ms)}`} />
        <Stat testId="stat-duration" label={t('duration')} value={`${fmtMs(tot.duration_p50_ms)}`} lowerIsBetter change={delta(tot.duration_p50_ms, pt.duration_p50_ms)}
          sub={`p50 · p95 ${fmtMs(tot.duration_p95_ms)}`} />
      </div>

      <div className="grid-2">
        <Card title={t('chartCalls')}>
          <BarChart testId="chart-calls" labels={labels} fmt={compact}
            series={[
              { name: t('succeeded'), color: 'var(--c1)', values: d.curSeries.map((r) => Math.max(0, r.calls - r.errors)) },
              { name: t('failed'), color: 'var(--bad)', values: d.curSeries.map((r) => r.errors) },
            ]}
            compare={{ name: t('previousPeriod'), color: 'var(--muted)', values: d.prevSeries.map((r) => r.calls) }} />
        </Card>
        <Card title={t('chartTokens')}>
          <BarChart labels={labels} fmt={compact}
            series={[
              { name: t('tokInUncached'), color: 'var(--c1)', values: d.curSeries.map((r) => Math.max(0, r.prompt_tokens - r.cached_tokens)) },
              { name: t('tokCached'), color: 'var(--c3)', values: d.curSeries.map((r) => r.cached_tokens) },
              { name: t('tokOut'), color: 'var(--c2)', values: d.curSeries.map((r) => r.completion_tokens) },
            ]}
            compare={{ name: t('previousPeriod'), color: 'var(--muted)', values: d.prevSeries.map(tokens) }} />
        </Card>
        <Card title={t('chartLatency')}>
          <LineChart labels={labels} fmt={(v) => fmtMs(v)}
            series={[
              { name: 'TTFB p50', color: 'var(--c1)', values: d.curSeries.map((r) => (r.calls ? r.ttfb_p50_ms : null)) },
              { name: 'TTFB p95', color: 'var(--c1)', dashed: true, values: d.curSeries.map((r) => (r.calls ? r.ttfb_p95_ms : null)) },
              { name: t('durationShort') + ' p50', color: 'var(--c2)', values: d.curSeries.map((r) => (r.calls ? r.duration_p50_ms : null)) },
              { name: t('durationShort') + ' p95', color: 'var(--c2)', dashed: true, values: d.curSeries.map((r) => (r.calls ? r.duration_p95_ms : null)) },
            ]} />
        </Card>
        <Card title={t('chartCredits')}>
          <BarChart labels={labels} fmt={(v) => formatMicro(Math.round(v))}
            series={[{ name: t('creditsCharged'), color: 'var(--c4)', values: d.curSeries.map((r) => r.charged) }]}
            compare={{ name: t('previousPeriod'), color: 'var(--muted)', values: d.prevSeries.map((r) => r.charged) }} />
        </Card>
      </div>

      <div className="grid-2">
        <Card title={t('topModels')}>
          {d.models.length ? (
            <HBars color="var(--c1)" fmt={(v) => t('nCalls', { n: fmtInt(v, locale) })}
              rows={d.models.map((r) => ({ label: r.model || '–', value: r.calls, sub: formatCreditsString(r.charged_credits) + ' ' + t('creditsUnit') }))} />
          ) : <p className="muted">{t('noData')}</p>}
        </Card>
        <Card title={t('topProviders')}>
          {d.providers.length ? (
            <HBars color="var(--c2)" fmt={(v) => t('nCalls', { n: fmtInt(v, locale) })}
              rows={d.providers.map((r) => ({ label: r.provider || '–', value: r.calls, sub: percent(r.errors, r.calls) + ' ' + t('errorsWord') }))} />
          ) : <p className="muted">{t('noData')}</p>}
        </Card>
      </div>
    </>
  );
}
