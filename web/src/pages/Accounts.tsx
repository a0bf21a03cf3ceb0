// Accounts and credits: balances, grants and adjustments (exact decimal
// input), and an account's ledger.
import { useState, type FormEvent } from 'react';
import { api, get, qs, type Account, type LedgerEntry, type List } from '../api';
import { Card, DataTable, ErrorBox, Field, Loading, PageHeader, useAsync, useEnumLabel } from '../components/ui';
import { fmtInt, fmtTableTime, fmtTime } from '../format';
import { useI18n } from '../i18n';
import { formatCreditsString, formatMicro, parseCredits } from '../money';
import { href, type Route } from '../router';

export function AccountsPage({ route }: { route: Route }) {
  const id = parseInt(route.parts[1] ?? '', 10);
  if (id > 0) return <AccountDetail id={id} />;
  return <AccountList />;
}

function AccountList() {
  const { t, locale } = useI18n();
  const { data, error, loading, reload } = useAsync(() => get<List<Account>>('/api/admin/accounts').then((l) => l.data), []);
  const [name, setName] = useState('');
  const [createErr, setCreateErr] = useState<unknown>(null);
  const [granting, setGranting] = useState<Account | null>(null);
  const create = async (e: FormEvent) => {
    e.preventDefault();
    setCreateErr(null);
    try {
      await api('POST', '/api/admin/accounts', { name: name.trim() });
      setName('');
      reload();
    } catch (err) {
      setCreateErr(err);
    }
  };
  return (
    <div>
      <PageHeader title={t('navAccounts')} subtitle={t('accountsSub')} />
      <ErrorBox error={error} />
      {granting ? <CreditsForm account={granting} onDone={() => { setGranting(null); reload(); }} /> : null}
      {!data && loading ? <Loading /> : null}
      {data ? (
        <Card title={t('accountsN', { n: data.length })}>
          <DataTable rows={data} rowKey={(a) => a.id} empty={t('noAccounts')}
            columns={[
              { key: 'id', label: 'ID', render: (a) => <span className="mono">{a.id}</span> },
              { key: 'name', label: t('name'), render: (a) => <a href={href(['accounts', a.id])}><strong>{a.name}</strong></a> },
              { key: 'keys', label: t('keys'), className: 'num', render: (a) => fmtInt(a.keys, locale) },
              { key: 'balance', label: t('balance'), className: 'num', render: (a) => <strong data-testid={`balance-${a.id}`}>{formatCreditsString(a.balance_credits)}</strong> },
              { key: 'created', label: t('created'), render: (a) => <span className="nowrap">{fmtTableTime(a.created_at, locale)}</span> },
              { key: 'actions', label: '', render: (a) => (
                <div className="row-actions">
                  <button className="btn btn-secondary btn-sm" type="button" onClick={() => setGranting(a)}>{t('grantCredits')}</button>
                  <a className="btn btn-ghost btn-sm" href={href(['accounts', a.id])}>{t('ledger')}</a>
                </div>
              ) },
            ]} />
          <form className="inline-form" onSubmit={create}>
            <input value={name} onChange={(e) => setName(e.target.value)} placeholder={t('newAccountName')} aria-label={t('newAccountName')} required />
            <button className="btn btn-secondary" type="submit">{t('createAccount')}</button>
          </form>
          <ErrorBox error={createErr} />
        </Card>
      ) : null}
    </div>
  );
}

function CreditsForm({ account, onDone }: { account: Account; onDone: () => void }) {
  const { t } = useI18n();
  const [kind, setKind] = useState<'grant' | 'adjust'>('grant');
  const [amount, setAmount] = useState('');
  const [memo, setMemo] = useState('');
  const [expires, setExpires] = useState('');
  const [error, setError] = useState<unknown>(null);
  let preview = '';
  let valid = false;
  try {
    const micro = parseCredits(amount, kind === 'adjust');
    valid = micro !== 0n;
    preview = t('amountPreview', { c: formatMicro(micro), m: micro.toString() });
  } catch {
    preview = amount ? t('badAmount') : '';
  }
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      // sent as the exact decimal string the API parses, never a float
      const micro = parseCredits(amount, kind === 'adjust');
      const body: Record<string, unknown> = { amount: formatMicro(micro).replace(/,/g, ''), memo: memo.trim() };
      if (kind === 'grant' && expires) body.expires_at = new Date(expires).toISOString();
      await api('POST', `/api/admin/accounts/${account.id}/${kind === 'grant' ? 'credits' : 'adjustments'}`, body);
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Card title={t('creditsForN', { n: account.name })}>
      <form className="form-grid" onSubmit={submit}>
        <Field label={t('operation')}>
          <select value={kind} onChange={(e) => setKind(e.target.value as 'grant' | 'adjust')}>
            <option value="grant">{t('grant')}</option>
            <option value="adjust">{t('adjust')}</option>
          </select>
        </Field>
        <Field label={t('amountCredits')} hint={preview}>
          <input name="amount" inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} placeholder={kind === 'grant' ? '100' : '-2.5'} required />
        </Field>
        <Field label={t('memo')} wide><input value={memo} onChange={(e) => setMemo(e.target.value)} /></Field>
        {kind === 'grant' ? <Field label={t('expiresAt')} hint={t('optional')}><input type="datetime-local" value={expires} onChange={(e) => setExpires(e.target.value)} /></Field> : null}
        <ErrorBox error={error} />
        <div className="form-actions">
          <button className="btn btn-primary" type="submit" disabled={!valid}>{kind === 'grant' ? t('grant') : t('adjust')}</button>
          <button className="btn btn-ghost" type="button" onClick={onDone}>{t('cancel')}</button>
        </div>
      </form>
    </Card>
  );
}

function AccountDetail({ id }: { id: number }) {
  const { t, locale } = useI18n();
  const enumLabel = useEnumLabel();
  const [before, setBefore] = useState<number | undefined>();
  const [granting, setGranting] = useState(false);
  const [allLegs, setAllLegs] = useState(false);
  const acct = useAsync(() => get<Account>(`/api/admin/accounts/${id}`), [id]);
  const ledger = useAsync(() => get<{ data: LedgerEntry[]; next_before?: number }>(`/api/admin/accounts/${id}/ledger` + qs({ limit: 50, before })), [id, before]);
  const a = acct.data;
  return (
    <div>
      <PageHeader title={a ? a.name : t('account')} subtitle={t('accountLedgerSub')}
        actions={<>
          <a className="btn btn-ghost" href={href(['accounts'])}>← {t('navAccounts')}</a>
          {a ? <button className="btn btn-primary" type="button" onClick={() => setGranting(true)}>{t('grantCredits')}</button> : null}
        </>} />
      <ErrorBox error={acct.error || ledger.error} />
      {a && granting ? <CreditsForm account={a} onDone={() => { setGranting(false); acct.reload(); ledger.reload(); }} /> : null}
      {a ? (
        <div className="stats">
          <div className="stat"><div className="stat-label">{t('balance')}</div><div className="stat-value">{formatCreditsString(a.balance_credits)}</div><div className="stat-sub">{fmtInt(a.balance, locale)} µ</div></div>
          <div className="stat"><div className="stat-label">{t('keys')}</div><div className="stat-value">{fmtInt(a.keys, locale)}</div></div>
          <div className="stat"><div className="stat-label">{t('created')}</div><div className="stat-value small-value">{fmtTime(a.created_at, locale)}</div></div>
        </div>
      ) : null}
      {!ledger.data && ledger.loading ? <Loading /> : null}
      {ledger.data ? (
        <Card title={t('ledger')} actions={<label className="check"><input type="checkbox" checked={allLegs} onChange={(e) => setAllLegs(e.target.checked)} /> {t('showCounterLegs')}</label>}>
          <DataTable rows={ledger.data.data.filter((e) => allLegs || e.account_id === id)} rowKey={(e) => e.id} empty={t('noLedger')}
            columns={[
              { key: 'at', label: t('time'), render: (e) => <span className="nowrap">{fmtTableTime(e.at, locale)}</span> },
              { key: 'leg', label: t('ledgerAccount'), render: (e) => <span className={e.account_id === id ? '' : 'muted mono small'}>{e.account}</span> },
              { key: 'kind', label: t('kind'), render: (e) => <span className="chip">{enumLabel('kind_', e.kind)}</span> },
              { key: 'amount', label: t('amountCredits'), className: 'num', render: (e) => <span className={e.amount < 0 ? 'text-bad' : 'text-good'}>{e.amount > 0 ? '+' : ''}{formatCreditsString(e.amount_credits)}</span> },
              { key: 'memo', label: t('memo'), render: (e) => e.memo || '–' },
              { key: 'req', label: t('requestId'), render: (e) => e.request_id ? <a className="mono" href={href(['calls', e.request_id])}>…{e.request_id.slice(-10)}</a> : '–' },
              { key: 'exp', label: t('expires'), render: (e) => (e.expires_at ? fmtTableTime(e.expires_at, locale) : '–') },
            ]} />
          <div className="center">
            {before ? <button className="btn btn-ghost" type="button" onClick={() => setBefore(undefined)}>{t('newest')}</button> : null}
            {ledger.data.next_before ? <button className="btn btn-secondary" type="button" onClick={() => setBefore(ledger.data!.next_before)}>{t('older')}</button> : null}
          </div>
        </Card>
      ) : null}
    </div>
  );
}
