// Calls: the call log with filters, CSV export and a detail view per call.
import { useEffect, useState, type FormEvent } from 'react';
import { get, qs, type Call, type CallsPage as Page } from '../api';
import { Badge, Card, DataTable, ErrorBox, Field, Loading, PageHeader, useAsync, type Column } from '../components/ui';
import { fmtInt, fmtMs, fmtTableTime, fmtTime, fromLocalInput, toLocalInput } from '../format';
import { useI18n } from '../i18n';
import { formatCreditsString } from '../money';
import { href, navigate, type Route } from '../router';
import { useSession } from '../session';

const FILTERS = ['since', 'until', 'key_id', 'account_id', 'provider', 'model', 'status'] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;

function filtersOf(q: URLSearchParams): Filters {
  const f: Filters = {};
  for (const k of FILTERS) {
    const v = q.get(k);
    if (v) f[k] = v;
  }
  return f;
}

export function CallsPage({ route }: { route: Route }) {
  if (route.parts[1]) return <CallDetail requestId={route.parts[1]} back={route.query.get('back') ?? ''} />;
  return <CallList filters={filtersOf(route.query)} />;
}

function CallList({ filters }: { filters: Filters }) {
  const { t, locale } = useI18n();
  const { isAdmin } = useSession();
  const base = isAdmin ? '/api/admin/calls' : '/api/calls';
  const [form, setForm] = useState<Filters>(filters);
  const [more, setMore] = useState<Call[]>([]);
  const [next, setNext] = useState<string | undefined>();
  const [moreError, setMoreError] = useState<unknown>(null);
  const key = JSON.stringify(filters);
  useEffect(() => setForm(filters), [key]); // filters is new at each render; key is its content

  const { data, error, loading, reload } = useAsync(async () => {
    const p = await get<Page>(base + qs({ ...filters, limit: 50 }));
    setMore([]);
    setNext(p.next_before);
    return p.data;
  }, [key, base]);

  const apply = (e: FormEvent) => {
    e.preventDefault();
    navigate(href(['calls'], form));
    reload();
  };
  const loadMore = async () => {
    try {
      const p = await get<Page>(base + qs({ ...filters, limit: 50, before: next }));
      setMore((m) => [...m, ...p.data]);
      setNext(p.next_before);
    } catch (e) {
      setMoreError(e);
    }
  };
  const rows = [...(data ?? []), ...more];
  const csv = base + qs({ ...filters, format: 'csv' });
  const back = href(['calls'], filters);

  const cols: Column<Call>[] = [
    { key: 'time', label: t('time'), render: (c) => <span className="nowrap" title={fmtTime(c.created_at, locale)}>{fmtTableTime(c.created_at, locale)}</span> },
    { key: 'model', label: t('model'), render: (c) => <span className="mono nowrap">{c.model}</span> },
    { key: 'provider', label: t('provider'), render: (c) => c.provider || '–' },
    { key: 'status', label: t('status'), render: (c) => <><Badge status={c.status} /> <span className="muted">{c.http_status}</span></> },
    { key: 'tokens', label: t('tokensInOut'), className: 'num', render: (c) => `${fmtInt(c.prompt_tokens, locale)} / ${fmtInt(c.completion_tokens, locale)}` },
    { key: 'credits', label: t('credits'), className: 'num', render: (c) => formatCreditsString(c.charged_credits) },
    { key: 'ttfb', label: 'TTFB', className: 'num', render: (c) => fmtMs(c.ttfb_ms) },
    { key: 'dur', label: t('durationShort'), className: 'num', render: (c) => fmtMs(c.duration_ms) },
    ...(isAdmin ? [{ key: 'acct', label: t('accountKey'), render: (c: Call) => <span className="mono">{c.account_id} / {c.key_id}</span> }] : []),
    { key: 'rid', label: t('requestId'), render: (c) => <a className="mono nowrap" title={c.request_id} href={href(['calls', c.request_id], { back })} onClick={(e) => e.stopPropagation()}>…{c.request_id.slice(-10)}</a> },
  ];

  const set = (k: keyof Filters) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [k]: e.target.value }));
  return (
    <div>
      <PageHeader title={t('navCalls')} subtitle={isAdmin ? t('callsSub') : t('callsSubUser')}
        actions={<a className="btn btn-secondary" href={csv} download="calls.csv" data-testid="csv">{t('exportCsv')}</a>} />
      <Card>
        <form className="filters" onSubmit={apply}>
          <Field label={t('since')}>
            <input type="datetime-local" value={form.since ? toLocalInput(new Date(form.since)) : ''} onChange={(e) => setForm((f) => ({ ...f, since: fromLocalInput(e.target.value) }))} />
          </Field>
          <Field label={t('until')}>
            <input type="datetime-local" value={form.until ? toLocalInput(new Date(form.until)) : ''} onChange={(e) => setForm((f) => ({ ...f, until: fromLocalInput(e.target.value) }))} />
          </Field>
          <Field label={t('keyId')}><input inputMode="numeric" value={form.key_id ?? ''} onChange={set('key_id')} /></Field>
          {isAdmin ? <Field label={t('accountId')}><input inputMode="numeric" value={form.account_id ?? ''} onChange={set('account_id')} /></Field> : null}
          <Field label={t('provider')}><input value={form.provider ?? ''} onChange={set('provider')} /></Field>
          <Field label={t('model')}><input value={form.model ?? ''} onChange={set('model')} /></Field>
          <Field label={t('status')}>
            <select value={form.status ?? ''} onChange={set('status')}>
              <option value="">{t('any')}</option>
              <option value="ok">{t('status_ok')}</option>
              <option value="error">{t('status_error')}</option>
              <option value="aborted">{t('status_aborted')}</option>
            </select>
          </Field>
          <div className="filters-actions">
            <button className="btn btn-primary" type="submit">{t('apply')}</button>
            <button className="btn btn-ghost" type="button" onClick={() => { setForm({}); navigate(href(['calls'])); }}>{t('clear')}</button>
          </div>
        </form>
      </Card>
      <ErrorBox error={error} />
      {!data && loading ? <Loading /> : null}
      {data ? (
        <Card>
          <DataTable columns={cols} rows={rows} rowKey={(c) => c.request_id} empty={t('noCalls')} className="calls-table"
            onRowClick={(c) => navigate(href(['calls', c.request_id], { back }))} />
          <ErrorBox error={moreError} />
          {next ? <div className="center"><button className="btn btn-secondary" type="button" onClick={loadMore}>{t('loadMore')}</button></div> : null}
        </Card>
      ) : null}
    </div>
  );
}

function CallDetail({ requestId, back }: { requestId: string; back: string }) {
  const { t, locale } = useI18n();
  const { isAdmin } = useSession();
  const base = isAdmin ? '/api/admin/calls' : '/api/calls';
  const { data: c, error, loading } = useAsync(() => get<Call>(`${base}/${encodeURIComponent(requestId)}`), [requestId, base]);
  const backLink = <a className="btn btn-ghost" href={back.startsWith('#/calls') ? back : href(['calls'])}>← {t('backToCalls')}</a>;
  return (
    <div data-testid="call-detail">
      <PageHeader title={t('callDetail')} subtitle={<span className="mono">{requestId}</span>} actions={backLink} />
      <ErrorBox error={error} />
      {!c && loading ? <Loading /> : null}
      {c ? (
        <>
          <div className="grid-2">
            <Card title={t('summary')}>
              <dl className="kv">
                <dt>{t('status')}</dt><dd><Badge status={c.status} /> HTTP {c.http_status}</dd>
                <dt>{t('time')}</dt><dd>{fmtTime(c.created_at, locale)}</dd>
                <dt>{t('surface')}</dt><dd>{c.api}{c.stream ? ` · ${t('streamed')}` : ''}</dd>
                <dt>{t('model')}</dt><dd className="mono">{c.model}</dd>
                <dt>{t('upstreamModel')}</dt><dd className="mono">{c.upstream_model || '–'}</dd>
                <dt>{t('provider')}</dt><dd>{c.provider || '–'}{c.credential_id ? <span className="muted"> · {t('credential')} #{c.credential_id}</span> : null}</dd>
                <dt>{t('account')}</dt><dd>#{c.account_id}</dd>
                <dt>{t('key')}</dt><dd>#{c.key_id}</dd>
                <dt>{t('credits')}</dt><dd data-testid="call-credits"><strong>{formatCreditsString(c.charged_credits)}</strong> <span className="muted">({fmtInt(c.charged, locale)} µ)</span></dd>
              </dl>
            </Card>
            <Card title={t('tokensAndTimings')}>
              <dl className="kv">
                <dt>{t('tokIn')}</dt><dd>{fmtInt(c.prompt_tokens, locale)}</dd>
                <dt>{t('tokOut')}</dt><dd>{fmtInt(c.completion_tokens, locale)}</dd>
                <dt>{t('tokCached')}</dt><dd>{fmtInt(c.cached_tokens, locale)}</dd>
                <dt>{t('tokCacheWrite')}</dt><dd>{fmtInt(c.cache_write_tokens, locale)}</dd>
                <dt>{t('tokReasoning')}</dt><dd>{fmtInt(c.reasoning_tokens, locale)}</dd>
                <dt>{t('images')}</dt><dd>{fmtInt(c.images, locale)}</dd>
                <dt>{t('estimated')}</dt><dd>{c.usage_estimated ? t('yes') : t('no')}</dd>
                <dt>TTFB</dt><dd>{fmtMs(c.ttfb_ms)}</dd>
                <dt>{t('duration')}</dt><dd>{fmtMs(c.duration_ms)}</dd>
              </dl>
            </Card>
          </div>
          {c.error_type || c.error_message ? (
            <Card title={t('error')}>
              <p><span className="badge badge-bad">{c.error_type}</span></p>
              <pre className="pre">{c.error_message}</pre>
            </Card>
          ) : null}
          <Card title={t('attemptsN', { n: c.attempt_count })}>
            <DataTable rows={c.attempts ?? []} rowKey={(a) => a.attempt} empty={t('noAttempts')}
              columns={[
                { key: 'n', label: '#', render: (a) => a.attempt },
                { key: 'at', label: t('time'), render: (a) => <span className="nowrap">{fmtTableTime(a.started_at, locale)}</span> },
                { key: 'p', label: t('provider'), render: (a) => <>{a.provider}{a.credential_id ? <span className="muted"> · #{a.credential_id}</span> : null}</> },
                { key: 'm', label: t('upstreamModel'), render: (a) => <span className="mono">{a.upstream_model}</span> },
                { key: 's', label: t('status'), render: (a) => <><Badge status={a.status} /> <span className="muted">{a.http_status || ''}</span></> },
                { key: 'd', label: t('durationShort'), className: 'num', render: (a) => fmtMs(a.duration_ms) },
                { key: 'e', label: t('error'), render: (a) => (a.error_type ? <span title={a.error_message}>{a.error_type}</span> : '–') },
              ]} />
          </Card>
        </>
      ) : null}
    </div>
  );
}
