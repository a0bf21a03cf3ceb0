// Providers and credentials: the database's providers with their live
// health from the running hub; add, edit, weights, enable/disable, test.
import { useState, type FormEvent } from 'react';
import { api, get, type CheckResult, type Credential, type CredentialState, type List, type Plugin, type Provider, type ProviderState } from '../api';
import { Badge, Card, ConfirmButton, DataTable, ErrorBox, Field, Loading, PageHeader, useAction, useAsync } from '../components/ui';
import { fmtInt, fmtTime } from '../format';
import { useI18n } from '../i18n';

const splitList = (s: string) => s.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);

export function ProvidersPage() {
  const { t } = useI18n();
  const { data, error, loading, reload } = useAsync(async () => {
    const [providers, state, plugins] = await Promise.all([
      get<List<Provider>>('/api/admin/providers'),
      get<List<ProviderState>>('/api/admin/state').catch(() => ({ data: [] as ProviderState[] })),
      get<List<Plugin>>('/api/admin/plugins').catch(() => ({ data: [] as Plugin[] })),
    ]);
    return { providers: providers.data, state: new Map(state.data.map((s) => [s.name, s])), plugins: plugins.data };
  }, []);
  const [adding, setAdding] = useState(false);

  return (
    <div>
      <PageHeader title={t('navProviders')} subtitle={t('providersSub')}
        actions={<>
          <button className="btn btn-ghost" type="button" onClick={reload}>↻ {t('refresh')}</button>
          <button className="btn btn-primary" type="button" onClick={() => setAdding((a) => !a)}>{adding ? t('cancel') : t('addProvider')}</button>
        </>} />
      <ErrorBox error={error} />
      {adding && data ? <ProviderForm plugins={data.plugins} onDone={() => { setAdding(false); reload(); }} /> : null}
      {!data && loading ? <Loading /> : null}
      {data?.providers.length === 0 ? <Card><p className="muted">{t('noProviders')}</p></Card> : null}
      {data?.providers.map((p) => (
        <ProviderCard key={p.name} p={p} state={data.state.get(p.name)} plugins={data.plugins} reload={reload} />
      ))}
    </div>
  );
}

function ProviderForm({ plugins, existing, onDone }: { plugins: Plugin[]; existing?: Provider; onDone: () => void }) {
  const { t } = useI18n();
  const [name, setName] = useState(existing?.name ?? '');
  const [plugin, setPlugin] = useState(existing?.plugin ?? plugins.find((p) => p.kind === 'provider')?.name ?? '');
  const [baseURL, setBaseURL] = useState(existing?.base_url ?? '');
  const [models, setModels] = useState((existing?.models ?? []).join(', '));
  const [enabled, setEnabled] = useState(existing?.enabled ?? true);
  const { busy, error, submit: onSubmit } = useAction();
  const submit = onSubmit(async () => {
    const body: Record<string, unknown> = { models: splitList(models), enabled };
    if (baseURL.trim() || existing) body.base_url = baseURL.trim();
    if (existing) await api('PATCH', `/api/admin/providers/${encodeURIComponent(existing.name)}`, body);
    else await api('POST', '/api/admin/providers', { ...body, name: name.trim(), plugin: plugin.trim() });
    onDone();
  });
  return (
    <Card title={existing ? t('editProviderN', { n: existing.name }) : t('addProvider')}>
      <form className="form-grid" onSubmit={submit}>
        {!existing ? (
          <>
            <Field label={t('name')} hint={t('providerNameHint')}><input value={name} onChange={(e) => setName(e.target.value)} required pattern="[a-z0-9][a-z0-9_\-]*" /></Field>
            <Field label={t('plugin')} hint={t('pluginHint')}>
              <input list="plugin-names" value={plugin} onChange={(e) => setPlugin(e.target.value)} required />
              <datalist id="plugin-names">{plugins.filter((p) => p.kind === 'provider').map((p) => <option key={p.name} value={p.name} />)}</datalist>
            </Field>
          </>
        ) : null}
        <Field label={t('baseUrl')} wide><input type="url" value={baseURL} onChange={(e) => setBaseURL(e.target.value)} placeholder="https://api.example.com/v1" /></Field>
        <Field label={t('models')} hint={t('modelsHint')} wide><textarea rows={2} value={models} onChange={(e) => setModels(e.target.value)} /></Field>
        <label className="check"><input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> {t('enabled')}</label>
        <ErrorBox error={error} />
        <div className="form-actions">
          <button className="btn btn-primary" type="submit" disabled={busy}>{existing ? t('save') : t('create')}</button>
          <button className="btn btn-ghost" type="button" onClick={onDone}>{t('cancel')}</button>
        </div>
      </form>
    </Card>
  );
}

function ProviderCard({ p, state, plugins, reload }: { p: Provider; state?: ProviderState; plugins: Plugin[]; reload: () => void }) {
  const { t, locale } = useI18n();
  const [editing, setEditing] = useState(false);
  const [addingCred, setAddingCred] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const live = p.enabled ? state?.status ?? 'unavailable' : 'disabled';
  const credState = new Map((state?.credentials ?? []).map((c) => [c.id, c]));
  const act = async (f: () => Promise<unknown>) => {
    setError(null);
    try {
      await f();
      reload();
    } catch (e) {
      setError(e);
    }
  };
  const path = `/api/admin/providers/${encodeURIComponent(p.name)}`;
  if (editing) return <ProviderForm plugins={plugins} existing={p} onDone={() => { setEditing(false); reload(); }} />;
  return (
    <Card className="provider" title={<><span className="mono">{p.name}</span> <Badge status={live} /></>}
      actions={<div className="row-actions">
        <button className="btn btn-secondary" type="button" onClick={() => act(() => api('PATCH', path, { enabled: !p.enabled }))}>{p.enabled ? t('disable') : t('enable')}</button>
        <button className="btn btn-ghost" type="button" onClick={() => setEditing(true)}>{t('edit')}</button>
        <ConfirmButton label={t('delete')} confirmLabel={t('confirmDelete')} onConfirm={() => act(() => api('DELETE', path))} />
      </div>}>
      <dl className="kv kv-inline">
        <dt>{t('plugin')}</dt><dd className="mono">{p.plugin}</dd>
        <dt>{t('baseUrl')}</dt><dd className="mono break">{p.base_url || '–'}</dd>
        <dt>{t('models')}</dt><dd>{(p.models ?? []).length ? (p.models ?? []).map((m) => <span key={m} className="chip">{m}</span>) : <span className="muted">{t('modelsDiscovered')}</span>}</dd>
        <dt>{t('managedBy')}</dt><dd>{p.managed_by}</dd>
        {state?.cooling_until ? <><dt>{t('coolingUntil')}</dt><dd>{fmtTime(state.cooling_until, locale)}</dd></> : null}
        {state?.last_error ? <><dt>{t('lastError')}</dt><dd className="text-bad">{state.last_error} ({t('nFailuresInRow', { n: state.consecutive_failures })})</dd></> : null}
      </dl>
      <ErrorBox error={error} />
      <h3>{t('credentials')}</h3>
      <DataTable rows={p.credentials ?? []} rowKey={(c) => c.id} empty={t('noCredentials')}
        columns={[
          { key: 'name', label: t('name'), render: (c) => <span className="mono">{c.name}</span> },
          { key: 'hint', label: t('secret'), render: (c) => <span className="mono muted">{c.hint || '–'}</span> },
          { key: 'weight', label: t('weight'), render: (c) => <WeightEditor c={c} onSave={(w) => act(() => api('PATCH', `${path}/credentials/${c.id}`, { weight: w }))} /> },
          { key: 'status', label: t('liveStatus'), render: (c) => <CredStatus c={c} s={credState.get(c.id)} /> },
          { key: 'calls', label: t('okFailed'), className: 'num', render: (c) => { const s = credState.get(c.id); return s ? `${fmtInt(s.successes, locale)} / ${fmtInt(s.failures, locale)}` : '–'; } },
          { key: 'actions', label: '', render: (c) => (
            <div className="row-actions">
              <button className="btn btn-secondary btn-sm" type="button" onClick={() => act(() => api('PATCH', `${path}/credentials/${c.id}`, { enabled: !c.enabled }))}>{c.enabled ? t('disable') : t('enable')}</button>
              <TestButton path={`${path}/credentials/${c.id}/test`} />
              <ConfirmButton className="btn btn-danger-ghost btn-sm" label={t('delete')} confirmLabel={t('confirmDelete')} onConfirm={() => act(() => api('DELETE', `${path}/credentials/${c.id}`))} />
            </div>
          ) },
        ]} />
      {addingCred ? <CredentialForm path={path} onDone={() => { setAddingCred(false); reload(); }} /> : (
        <button className="btn btn-ghost" type="button" onClick={() => setAddingCred(true)}>+ {t('addCredential')}</button>
      )}
    </Card>
  );
}

function CredStatus({ c, s }: { c: Credential; s?: CredentialState }) {
  const { t, locale } = useI18n();
  if (!c.enabled) return <Badge status="disabled" />;
  if (!s) return <span className="muted">–</span>;
  return (
    <span>
      <Badge status={s.status} />
      {s.reason ? <span className="muted small"> {s.reason}</span> : null}
      {s.cooling_until ? <span className="muted small"> · {t('until')} {fmtTime(s.cooling_until, locale)}</span> : null}
    </span>
  );
}

function WeightEditor({ c, onSave }: { c: Credential; onSave: (w: number) => void }) {
  const [w, setW] = useState(String(c.weight));
  const { t } = useI18n();
  const changed = w !== String(c.weight);
  return (
    <span className="inline-edit">
      <input type="number" min={1} step={1} value={w} onChange={(e) => setW(e.target.value)} aria-label={t('weight')} />
      {changed ? <button className="btn btn-primary btn-sm" type="button" onClick={() => onSave(parseInt(w, 10))}>{t('save')}</button> : null}
    </span>
  );
}

function TestButton({ path }: { path: string }) {
  const { t } = useI18n();
  const [res, setRes] = useState<CheckResult | null>(null);
  const [err, setErr] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <span className="test">
      <button className="btn btn-secondary btn-sm" type="button" disabled={busy} onClick={async () => {
        setBusy(true);
        setErr(null);
        setRes(null);
        try {
          setRes(await api<CheckResult>('POST', path));
        } catch (e) {
          setErr(e instanceof Error ? e.message : String(e));
        } finally {
          setBusy(false);
        }
      }}>{busy ? t('testing') : t('testConnection')}</button>
      {res ? (
        <span className={res.ok ? 'text-good small' : 'text-bad small'} data-testid="test-result">
          {res.ok ? '✓ ' + t('connectionOk') : '✗ ' + (res.error_type || res.error || t('failed'))} · {res.method} {res.status || ''} · {Math.round(res.latency_ns / 1e6)} ms
        </span>
      ) : null}
      {err ? <span className="text-bad small">{err}</span> : null}
    </span>
  );
}

function CredentialForm({ path, onDone }: { path: string; onDone: () => void }) {
  const { t } = useI18n();
  const [name, setName] = useState('');
  const [secret, setSecret] = useState('');
  const [weight, setWeight] = useState('1');
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const body: Record<string, unknown> = { name: name.trim(), weight: parseInt(weight, 10) || 1 };
      if (secret) body.secret = secret;
      await api('POST', `${path}/credentials`, body);
      setSecret('');
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form className="form-grid sub-form" onSubmit={submit}>
      <Field label={t('name')} hint={t('credNameHint')}><input value={name} onChange={(e) => setName(e.target.value)} pattern="[a-z0-9][a-z0-9_\-]*" /></Field>
      <Field label={t('secret')} hint={t('secretHint')}><input type="password" autoComplete="off" value={secret} onChange={(e) => setSecret(e.target.value)} /></Field>
      <Field label={t('weight')}><input type="number" min={1} value={weight} onChange={(e) => setWeight(e.target.value)} /></Field>
      <ErrorBox error={error} />
      <div className="form-actions">
        <button className="btn btn-primary" type="submit">{t('addCredential')}</button>
        <button className="btn btn-ghost" type="button" onClick={onDone}>{t('cancel')}</button>
      </div>
    </form>
  );
}
