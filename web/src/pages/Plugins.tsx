// Plugins: the loaded Wasm plugins with their kind, version, module hash,
// pool and call counts, and their hot reload: when the serving version was
// loaded, whether its file is watched, the rollback candidate, the versions
// still draining, the latest reload's outcome, and (admin) Reload and Roll
// back.
import { useState } from 'react';
import { api, ApiError, get, type List, type Plugin, type PluginReload, type PluginVersion } from '../api';
import { Badge, Card, Empty, ErrorBox, Loading, PageHeader, useAction, useAsync, useEnumLabel } from '../components/ui';
import { fmtInt, fmtTableTime } from '../format';
import { useI18n, type MsgKey } from '../i18n';
import { useSession } from '../session';

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

/** short is the first 12 hex digits of a SHA-256, as the hub's logs show it. */
const short = (sum?: string) => (sum ? sum.slice(0, 12) : '');

/** versionText is "0.2.0 · 3f2a9c01b7de", for a version of a plugin. */
function versionText(v: { version?: string; sha256?: string }): string {
  return [v.version || '–', short(v.sha256)].filter(Boolean).join(' · ');
}

export function PluginsPage() {
  const { t } = useI18n();
  const { data, error, loading, reload } = useAsync(() => get<List<Plugin>>('/api/admin/plugins').then((l) => l.data), []);
  return (
    <div>
      <PageHeader title={t('navPlugins')} subtitle={t('pluginsSub')} actions={<button className="btn btn-ghost" type="button" onClick={reload}>↻ {t('refresh')}</button>} />
      <ErrorBox error={error} />
      {!data && loading ? <Loading /> : null}
      {data && data.length === 0 ? <Empty>{t('noPlugins')}</Empty> : null}
      {data?.map((p) => <PluginCard key={p.name} p={p} reload={reload} />)}
    </div>
  );
}

function PluginCard({ p, reload }: { p: Plugin; reload: () => void }) {
  const { t, locale } = useI18n();
  const enumLabel = useEnumLabel();
  const { isAdmin } = useSession();
  const act = useAction();
  const [doing, setDoing] = useState<'reload' | 'rollback' | null>(null);
  const [answer, setAnswer] = useState<PluginReload | null>(null);
  const builtin = p.source.startsWith('builtin:');
  const press = (action: 'reload' | 'rollback') => {
    setDoing(action);
    setAnswer(null);
    void act.run(async () => {
      try {
        setAnswer(await api<PluginReload>('POST', `/api/admin/plugins/${encodeURIComponent(p.name)}/${action}`));
      } finally {
        reload(); // a failed reload is recorded too (last_reload)
      }
    });
  };
  return (
    <Card className="plugin" title={<span data-testid={`plugin-${p.name}`} className="plugin-title">
      <span className="mono">{p.name}</span>
      <span className="chip">{enumLabel('kind_', p.kind)}</span>
      {p.trusted ? <span className="chip chip-accent">{t('trusted')}</span> : null}
      {p.crash_loop ? <Badge status="broken" label={t('plCrashLoop')} /> : null}
    </span>}
      actions={isAdmin ? (
        <div className="row-actions">
          <button className="btn btn-secondary" type="button" data-testid="plugin-reload" disabled={act.busy} onClick={() => press('reload')}>
            {act.busy && doing === 'reload' ? t('plReloading') : t('plReload')}
          </button>
          <button className="btn btn-ghost" type="button" data-testid="plugin-rollback" disabled={act.busy} onClick={() => press('rollback')}>
            {act.busy && doing === 'rollback' ? t('plRollingBack') : t('plRollback')}
          </button>
        </div>
      ) : null}>
      {answer ? <ReloadAnswer r={answer} /> : null}
      {act.error ? <ReloadError error={act.error} action={doing ?? 'reload'} name={p.name} /> : null}
      <div className="plugin-grid">
        <dl className="kv">
          <dt>{t('version')}</dt><dd className="mono">{p.version || '–'}</dd>
          <dt>SHA-256</dt><dd className="mono" title={p.sha256}>{short(p.sha256)}…</dd>
          <dt>{t('source')}</dt>
          <dd><span className="mono break">{p.source}</span>{builtin ? <div className="muted small">{t('plBuiltin')}</div> : null}</dd>
          <dt>{t('apis')}</dt><dd>{(p.apis ?? []).length ? (p.apis ?? []).map((a) => <span key={a} className="chip">{a}</span>) : '–'}</dd>
          <dt>{t('navProviders')}</dt><dd>{(p.providers ?? []).join(', ') || '–'}</dd>
          <dt>{t('pool')}</dt>
          <dd>
            <span className="kvpair"><span className="muted">{t('poolSize')}</span> {fmtInt(p.pool_size, locale)}</span>
            {POOL.map((c) => num(p, c.key) !== undefined ? <span key={c.key} className="kvpair"><span className="muted">{t(c.label)}</span> {fmtInt(num(p, c.key), locale)}</span> : null)}
            {num(p, 'memory_bytes') ? <span className="kvpair"><span className="muted">{t('plMemory')}</span> {fmtBytes(num(p, 'memory_bytes')!)}</span> : null}
          </dd>
          <dt>{t('callCounts')}</dt>
          <dd>
            {COUNTERS.map((c) => num(p, c.key) !== undefined ? <span key={c.key} className="kvpair" data-counter={c.key}><span className="muted">{t(c.label)}</span> {fmtInt(num(p, c.key), locale)}</span> : null)}
          </dd>
        </dl>
        <dl className="kv" data-testid="plugin-reload-state">
          <dt>{t('loadedAt')}</dt><dd>{p.loaded_at ? fmtTableTime(p.loaded_at, locale) : '–'}</dd>
          <dt>{t('plWatch')}</dt><dd>{p.watch ? t('plWatched') : t('plNotWatched')}</dd>
          <dt>{t('plRollbackTo')}</dt><dd data-testid="plugin-rollback-to"><RollbackCandidate v={p.rollback} /></dd>
          <dt>{t('plDraining')}</dt>
          <dd>{fmtInt(p.draining, locale)} {p.draining ? <span className="muted">{t('plDrainingHint')}</span> : null}</dd>
          <dt>{t('plLastReload')}</dt><dd data-testid="plugin-last-reload"><LastReload r={p.last_reload} /></dd>
        </dl>
      </div>
    </Card>
  );
}

function RollbackCandidate({ v }: { v?: PluginVersion | null }) {
  const { t, locale } = useI18n();
  if (!v) return <span className="muted">{t('plNoRollbackCandidate')}</span>;
  return (
    <span>
      <span className="mono" title={v.sha256}>{versionText(v)}</span>
      <span className="muted"> · {t('loadedAt')} {fmtTableTime(v.loaded_at, locale)}</span>
    </span>
  );
}

/** LastReload is the latest reload's outcome: ok (changed or not) or failed, with its step and error, when and by what. */
function LastReload({ r }: { r?: PluginReload | null }) {
  const { t, locale } = useI18n();
  const enumLabel = useEnumLabel();
  if (!r) return <span className="muted">{t('plNoReload')}</span>;
  return (
    <span>
      <Badge status={r.ok ? 'ok' : 'error'} label={r.ok ? (r.changed ? t('plChanged') : t('plUnchanged')) : t('plFailed')} />{' '}
      {enumLabel('action_', r.action)}
      {r.step ? <> {t('plAtStep', { step: r.step })}</> : null}
      {r.ok && r.changed ? <> → <span className="mono" title={r.sha256}>{versionText(r)}</span></> : null}
      <span className="muted"> · {fmtTableTime(r.at, locale)} · {t('plBy', { trigger: enumLabel('trigger_', r.trigger) })} · {r.took_ms} ms</span>
      {r.error ? <div className="text-bad break">{r.error}</div> : null}
    </span>
  );
}

/** ReloadAnswer is what a successful reload or rollback answered. */
function ReloadAnswer({ r }: { r: PluginReload }) {
  const { t } = useI18n();
  let msg: string;
  if (!r.changed) msg = t('plAnsUnchanged', { v: r.version || '–' });
  else if (r.action === 'rollback') msg = t('plAnsRolledBack', { v: r.version || '–', sha: short(r.sha256) });
  else msg = t('plAnsReloaded', { v: r.version || '–', sha: short(r.sha256), prev: r.previous ? versionText(r.previous) : '–' });
  return <div className="alert alert-info" role="status" data-testid="reload-answer">{msg}</div>;
}

/** ReloadError is a refused reload or rollback: the failed step (422), nothing to roll back to (409), or another error. */
function ReloadError({ error, action, name }: { error: unknown; action: 'reload' | 'rollback'; name: string }) {
  const { t } = useI18n();
  const enumLabel = useEnumLabel();
  if (error instanceof ApiError && error.code === 'no_rollback')
    return <div className="alert alert-info" role="status" data-testid="reload-answer">{t('plAnsNoRollback', { name })}</div>;
  if (error instanceof ApiError && error.status === 422 && error.param)
    return (
      <div className="alert alert-error" role="alert" data-testid="reload-answer">
        <strong>{t('plAnsFailed', { action: enumLabel('action_', action), step: error.param })}</strong>
        <div className="break">{error.message}</div>
      </div>
    );
  return <ErrorBox error={error} />;
}
