// Plugins: the loaded Wasm plugins with their kind, version, module hash,
// pool and call counts.
import { get, type List, type Plugin } from '../api';
import { Badge, Card, DataTable, ErrorBox, Loading, PageHeader, useAsync, useEnumLabel } from '../components/ui';
import { fmtInt, fmtTableTime } from '../format';
import { useI18n, type MsgKey } from '../i18n';

/** The pool and call counters the hub reports per plugin (absent on an older hub). */
const COUNTERS: { key: string; label: MsgKey }[] = [
  { key: 'calls', label: 'plCalls' },
  { key: 'errors', label: 'plErrors' },
  { key: 'crashes', label: 'plCrashes' },
  { key: 'recycled', label: 'plRecycled' },
];
const POOL: { key: string; label: MsgKey }[] = [
  { key: 'instances', label: 'plInstances' },
  { key: 'in_use', label: 'plInUse' },
  { key: 'idle', label: 'plIdle' },
];

function num(p: Plugin, k: string): number | undefined {
  const v = p[k];
  return typeof v === 'number' ? v : undefined;
}

function fmtBytes(n: number): string {
  if (n >= 1 << 30) return (n / (1 << 30)).toFixed(1) + ' GiB';
  if (n >= 1 << 20) return (n / (1 << 20)).toFixed(1) + ' MiB';
  if (n >= 1 << 10) return (n / (1 << 10)).toFixed(0) + ' KiB';
  return n + ' B';
}

export function PluginsPage() {
  const { t, locale } = useI18n();
  const enumLabel = useEnumLabel();
  const { data, error, loading, reload } = useAsync(() => get<List<Plugin>>('/api/admin/plugins').then((l) => l.data), []);
  return (
    <div>
      <PageHeader title={t('navPlugins')} subtitle={t('pluginsSub')} actions={<button className="btn btn-ghost" type="button" onClick={reload}>↻ {t('refresh')}</button>} />
      <ErrorBox error={error} />
      {!data && loading ? <Loading /> : null}
      {data ? (
        <Card title={t('pluginsN', { n: data.length })}>
          <DataTable rows={data} rowKey={(p) => p.name} empty={t('noPlugins')}
            columns={[
              { key: 'name', label: t('name'), render: (p) => (
                <div className="name-cell">
                  <strong className="mono">{p.name}</strong>{p.trusted ? <span className="chip chip-accent">{t('trusted')}</span> : null}
                  <div className="mono muted small nowrap" title={t('source')}>{p.source}</div>
                </div>
              ) },
              { key: 'kind', label: t('kind'), render: (p) => <span className="chip">{enumLabel('kind_', p.kind)}</span> },
              { key: 'version', label: t('version'), render: (p) => <span className="mono">{p.version || '–'}</span> },
              { key: 'hash', label: 'SHA-256', render: (p) => <span className="mono small" title={p.sha256}>{p.sha256.slice(0, 12)}…</span> },
              { key: 'apis', label: t('apis'), render: (p) => (p.apis ?? []).map((a) => <span key={a} className="chip">{a}</span>) },
              { key: 'providers', label: t('navProviders'), render: (p) => (p.providers ?? []).join(', ') || '–' },
              { key: 'pool', label: t('pool'), render: (p) => (
                <span className="small">
                  <span className="kvpair"><span className="muted">{t('poolSize')}</span> {fmtInt(p.pool_size, locale)}</span>
                  {POOL.map((c) => num(p, c.key) !== undefined ? <span key={c.key} className="kvpair"><span className="muted">{t(c.label)}</span> {fmtInt(num(p, c.key), locale)}</span> : null)}
                  {num(p, 'memory_bytes') ? <span className="kvpair"><span className="muted">{t('plMemory')}</span> {fmtBytes(num(p, 'memory_bytes')!)}</span> : null}
                </span>
              ) },
              { key: 'stats', label: t('callCounts'), render: (p) => (
                <span className="small">
                  {COUNTERS.map((c) => num(p, c.key) !== undefined ? <span key={c.key} className="kvpair" data-counter={c.key}><span className="muted">{t(c.label)}</span> {fmtInt(num(p, c.key), locale)}</span> : null)}
                  {p.crash_loop ? <Badge status="broken" label={t('plCrashLoop')} /> : null}
                </span>
              ) },
              { key: 'loaded', label: t('loadedAt'), render: (p) => <span className="nowrap small">{typeof p.loaded_at === 'string' ? fmtTableTime(p.loaded_at, locale) : '–'}</span> },
            ]} />
        </Card>
      ) : null}
    </div>
  );
}
