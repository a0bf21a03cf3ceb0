// Keys: create (the key is shown once, with a copy button), revoke, limits,
// allowed models. Admins manage every account's keys; a user key its own
// account's.
import { useState } from 'react';
import { api, get, type Account, type Key, type List, type Model } from '../api';
import { Badge, Card, ConfirmButton, CopyButton, DataTable, ErrorBox, Field, Loading, PageHeader, useAction, useAsync } from '../components/ui';
import { fmtInt, fmtTableTime } from '../format';
import { useI18n } from '../i18n';
import { useSession } from '../session';

const splitList = (s: string) => s.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);
const limit = (n: number, locale: string, none: string) => (n ? fmtInt(n, locale) : none);

export function KeysPage() {
  const { t, locale } = useI18n();
  const { isAdmin, session } = useSession();
  const base = isAdmin ? '/api/admin/keys' : '/api/keys';
  const [showRevoked, setShowRevoked] = useState(false);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<{ key: string; view: Key } | null>(null);
  const [editing, setEditing] = useState<Key | null>(null);
  const [error, setError] = useState<unknown>(null);
  const { data, error: loadError, loading, reload } = useAsync(async () => {
    const [keys, models, accounts] = await Promise.all([
      get<List<Key>>(base),
      get<List<Model>>('/v1/models').catch(() => ({ data: [] as Model[] })),
      isAdmin ? get<List<Account>>('/api/admin/accounts').then((a) => a.data) : Promise.resolve([] as Account[]),
    ]);
    return { keys: keys.data, models: models.data.map((m) => m.id), accounts };
  }, [base, isAdmin]);

  const keys = (data?.keys ?? []).filter((k) => showRevoked || k.status === 'active');
  const none = t('unlimited');
  return (
    <div>
      <PageHeader title={t('navKeys')} subtitle={isAdmin ? t('keysSubAdmin') : t('keysSubUser', { a: session.account_name })}
        actions={<button className="btn btn-primary" type="button" data-testid="new-key-btn" onClick={() => { setCreating((c) => !c); setCreated(null); }}>{creating ? t('cancel') : t('createKey')}</button>} />
      <ErrorBox error={loadError} />
      <ErrorBox error={error} />
      {created ? (
        <Card className="shown-once" title={t('keyCreated')}>
          <p>{t('keyShownOnce')}</p>
          <div className="secret-box">
            <code data-testid="new-key" data-copy-source>{created.key}</code>
            <CopyButton text={created.key} />
          </div>
          <button className="btn btn-ghost" type="button" onClick={() => setCreated(null)}>{t('savedIt')}</button>
        </Card>
      ) : null}
      {creating && data ? (
        <KeyForm models={data.models} accounts={data.accounts} base={base} onCancel={() => setCreating(false)}
          onCreated={(key, view) => { setCreating(false); setCreated({ key, view }); reload(); }} />
      ) : null}
      {editing && data ? <KeyForm models={data.models} accounts={data.accounts} base={base} existing={editing} onCancel={() => setEditing(null)} onCreated={() => { setEditing(null); reload(); }} /> : null}
      {!data && loading ? <Loading /> : null}
      {data ? (
        <Card actions={<label className="check"><input type="checkbox" checked={showRevoked} onChange={(e) => setShowRevoked(e.target.checked)} /> {t('showRevoked')}</label>}
          title={t('keysN', { n: keys.length })}>
          <DataTable rows={keys} rowKey={(k) => k.id} empty={t('noKeys')} className="keys-table"
            columns={[
              { key: 'name', label: t('name'), render: (k) => <div className="name-cell"><strong className="nowrap">{k.name || '–'}</strong>{k.id === session.key_id ? <span className="chip chip-accent">{t('thisKey')}</span> : null}<div className="mono muted small nowrap">{k.prefix}…</div></div> },
              ...(isAdmin ? [{ key: 'acct', label: t('account'), render: (k: Key) => <span className="nowrap">{k.account}</span> }, { key: 'role', label: t('role'), render: (k: Key) => <span className="nowrap">{k.role === 'admin' ? t('roleAdmin') : t('roleUser')}</span> }] : []),
              { key: 'status', label: t('status'), render: (k) => <Badge status={k.status} /> },
              { key: 'models', label: t('allowedModels'), render: (k) => (k.allowed_models?.length ? k.allowed_models.map((m) => <span key={m} className="chip">{m}</span>) : <span className="muted">{t('allModels')}</span>) },
              { key: 'limits', label: t('limits'), render: (k) => <span className="small limits"><span className="nowrap">RPM {limit(k.rpm, locale, none)}</span> <span className="nowrap">TPM {limit(k.tpm, locale, none)}</span> <span className="nowrap">{t('concurrency')} {limit(k.max_concurrency, locale, none)}</span></span> },
              { key: 'created', label: t('created'), render: (k) => <span className="nowrap">{fmtTableTime(k.created_at, locale)}</span> },
              { key: 'used', label: t('lastUsed'), render: (k) => <span className="nowrap">{fmtTableTime(k.last_used_at, locale)}</span> },
              { key: 'expires', label: t('expires'), render: (k) => <span className="nowrap">{k.expires_at ? fmtTableTime(k.expires_at, locale) : t('never')}</span> },
              { key: 'actions', label: '', render: (k) => k.status !== 'revoked' ? (
                <div className="row-actions" data-key-prefix={k.prefix}>
                  {isAdmin ? <button className="btn btn-ghost btn-sm" type="button" onClick={() => setEditing(k)}>{t('edit')}</button> : null}
                  <ConfirmButton className="btn btn-danger-ghost btn-sm" label={t('revoke')} confirmLabel={t('confirmRevoke')} onConfirm={async () => {
                    setError(null);
                    try { await api('DELETE', `${base}/${k.id}`); reload(); } catch (e) { setError(e); }
                  }} />
                </div>
              ) : null },
            ]} />
        </Card>
      ) : null}
    </div>
  );
}

function KeyForm({ models, accounts, base, existing, onCreated, onCancel }: {
  models: string[]; accounts: Account[]; base: string; existing?: Key; onCreated: (key: string, view: Key) => void; onCancel: () => void;
}) {
  const { t } = useI18n();
  const { isAdmin } = useSession();
  const [name, setName] = useState(existing?.name ?? '');
  const [role, setRole] = useState(existing?.role ?? 'user');
  const [account, setAccount] = useState(existing ? String(existing.account_id) : '');
  const [newAccount, setNewAccount] = useState('');
  const [allowed, setAllowed] = useState((existing?.allowed_models ?? []).join(', '));
  const [rpm, setRpm] = useState(existing ? String(existing.rpm) : '0');
  const [tpm, setTpm] = useState(existing ? String(existing.tpm) : '0');
  const [conc, setConc] = useState(existing ? String(existing.max_concurrency) : '0');
  const [expires, setExpires] = useState('');
  const { busy, error, submit: onSubmit } = useAction();

  const submit = onSubmit(async () => {
    const body: Record<string, unknown> = {
      allowed_models: splitList(allowed),
      rpm: parseInt(rpm, 10) || 0, tpm: parseInt(tpm, 10) || 0, max_concurrency: parseInt(conc, 10) || 0,
    };
    if (name.trim()) body.name = name.trim();
    if (expires) body.expires_in = expires;
    if (existing) {
      const v = await api<Key>('PATCH', `${base}/${existing.id}`, body);
      onCreated('', v);
      return;
    }
    if (isAdmin) {
      body.role = role;
      if (account === 'new' && newAccount.trim()) body.account = newAccount.trim();
      else if (account && account !== 'new') body.account_id = parseInt(account, 10);
    }
    const res = await api<Key & { key: string }>('POST', base, body);
    onCreated(res.key, res);
  });
  const addModel = (m: string) => {
    const cur = splitList(allowed);
    if (!cur.includes(m)) setAllowed([...cur, m].join(', '));
  };
  return (
    <Card title={existing ? t('editKeyN', { n: existing.name || existing.prefix }) : t('createKey')}>
      <form className="form-grid" onSubmit={submit} data-testid="key-form">
        <Field label={t('name')}><input name="name" value={name} onChange={(e) => setName(e.target.value)} placeholder={t('keyNamePlaceholder')} /></Field>
        {isAdmin && !existing ? (
          <>
            <Field label={t('role')}>
              <select name="role" value={role} onChange={(e) => setRole(e.target.value)}>
                <option value="user">{t('roleUser')}</option>
                <option value="admin">{t('roleAdmin')}</option>
              </select>
            </Field>
            <Field label={t('account')}>
              <select name="account" value={account} onChange={(e) => setAccount(e.target.value)}>
                <option value="">{t('defaultAccount')}</option>
                {accounts.map((a) => <option key={a.id} value={a.id}>{a.name}</option>)}
                <option value="new">{t('newAccount')}</option>
              </select>
            </Field>
            {account === 'new' ? <Field label={t('newAccountName')}><input name="new-account" value={newAccount} onChange={(e) => setNewAccount(e.target.value)} required /></Field> : null}
          </>
        ) : null}
        <Field label={t('allowedModels')} hint={t('allowedModelsHint')} wide>
          <input name="allowed" value={allowed} onChange={(e) => setAllowed(e.target.value)} placeholder={t('allModels')} />
          {models.length ? (
            <span className="chips">
              {models.slice(0, 24).map((m) => <button key={m} type="button" className="chip chip-action" onClick={() => addModel(m)}>+ {m}</button>)}
            </span>
          ) : null}
        </Field>
        <Field label="RPM" hint={t('zeroUnlimited')}><input type="number" min={0} value={rpm} onChange={(e) => setRpm(e.target.value)} /></Field>
        <Field label="TPM" hint={t('zeroUnlimited')}><input type="number" min={0} value={tpm} onChange={(e) => setTpm(e.target.value)} /></Field>
        <Field label={t('concurrency')} hint={t('zeroUnlimited')}><input type="number" min={0} value={conc} onChange={(e) => setConc(e.target.value)} /></Field>
        <Field label={t('expiresIn')} hint={t('expiresHint')}>
          <select value={expires} onChange={(e) => setExpires(e.target.value)}>
            <option value="">{existing ? t('unchanged') : t('never')}</option>
            {existing ? <option value="never">{t('never')}</option> : null}
            <option value="24h">{t('days', { n: 1 })}</option>
            <option value="168h">{t('days', { n: 7 })}</option>
            <option value="720h">{t('days', { n: 30 })}</option>
            <option value="2160h">{t('days', { n: 90 })}</option>
            <option value="8760h">{t('days', { n: 365 })}</option>
          </select>
        </Field>
        <ErrorBox error={error} />
        <div className="form-actions">
          <button className="btn btn-primary" type="submit" disabled={busy} data-testid="key-submit">{existing ? t('save') : t('create')}</button>
          <button className="btn btn-ghost" type="button" onClick={onCancel}>{t('cancel')}</button>
        </div>
      </form>
    </Card>
  );
}
