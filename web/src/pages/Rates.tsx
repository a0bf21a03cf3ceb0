// Model rates: credits per 1M tokens (and per image, per call), edited as
// exact decimals; bulk change by a margin; the models routed without a rate.
import { useState, type FormEvent } from 'react';
import { api, get, type List, type Rate } from '../api';
import { Card, ConfirmButton, DataTable, ErrorBox, Field, Loading, PageHeader, useAsync } from '../components/ui';
import { fmtTableTime } from '../format';
import { useI18n, type MsgKey } from '../i18n';
import { formatMicro, jsonInt, parseCredits } from '../money';

const AMOUNTS: { key: keyof Rate; label: MsgKey }[] = [
  { key: 'input_per_m', label: 'rateInput' },
  { key: 'output_per_m', label: 'rateOutput' },
  { key: 'cached_read_per_m', label: 'rateCachedRead' },
  { key: 'cache_write_per_m', label: 'rateCacheWrite' },
  { key: 'per_image', label: 'ratePerImage' },
  { key: 'min_per_call', label: 'rateMinPerCall' },
];

/** Unpriced is one model the hub routes that no rate prices. */
interface Unpriced {
  model: string;
  provider?: string;
}

function unpricedOf(data: unknown[]): Unpriced[] {
  return data.map((d) => (typeof d === 'string' ? { model: d } : (d as Unpriced)));
}

export function RatesPage() {
  const { t, locale } = useI18n();
  const { data, error, loading, reload } = useAsync(async () => {
    const [rates, unpriced] = await Promise.all([
      get<List<Rate>>('/api/admin/model-rates'),
      get<List<unknown>>('/api/admin/model-rates/unpriced').catch((e: Error) => e),
    ]);
    return { rates: rates.data, unpriced: unpriced instanceof Error ? unpriced : unpricedOf(unpriced.data ?? []) };
  }, []);
  const [editing, setEditing] = useState<Partial<Rate> | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [error2, setError2] = useState<unknown>(null);

  const toggle = (m: string) => setSelected((s) => { const n = new Set(s); if (n.has(m)) n.delete(m); else n.add(m); return n; });
  const allSelected = !!data && data.rates.length > 0 && data.rates.every((r) => selected.has(r.model));

  return (
    <div>
      <PageHeader title={t('navRates')} subtitle={t('ratesSub')}
        actions={<button className="btn btn-primary" type="button" onClick={() => setEditing({ model: '' })}>{t('addRate')}</button>} />
      <ErrorBox error={error} />
      <ErrorBox error={error2} />
      {editing ? <RateForm initial={editing} onDone={() => { setEditing(null); reload(); }} /> : null}
      {!data && loading ? <Loading /> : null}
      {data ? (
        <>
          <Card title={t('rates')}>
            <DataTable rows={data.rates} rowKey={(r) => r.model} empty={t('noRates')} className="rates-table"
              columns={[
                { key: 'sel', label: <input type="checkbox" aria-label={t('selectAll')} checked={allSelected} onChange={() => setSelected(allSelected ? new Set() : new Set(data.rates.map((r) => r.model)))} />,
                  cardLabel: t('select'), render: (r) => <input type="checkbox" aria-label={r.model} checked={selected.has(r.model)} onChange={() => toggle(r.model)} /> },
                { key: 'model', label: t('model'), render: (r) => <span className="mono nowrap">{r.model}</span> },
                ...AMOUNTS.map((a) => ({ key: a.key, label: t(a.label), className: 'num', render: (r: Rate) => formatMicro(r[a.key] as number) })),
                { key: 'updated', label: t('updated'), render: (r) => <span className="nowrap muted">{fmtTableTime(r.updated_at, locale)}</span> },
                { key: 'actions', label: '', render: (r) => (
                  <div className="row-actions">
                    <button className="btn btn-ghost btn-sm" type="button" onClick={() => setEditing(r)}>{t('edit')}</button>
                    <ConfirmButton className="btn btn-danger-ghost btn-sm" label={t('delete')} confirmLabel={t('confirmDelete')} onConfirm={async () => {
                      try { await api('DELETE', `/api/admin/model-rates/${r.model}`); reload(); } catch (e) { setError2(e); }
                    }} />
                  </div>
                ) },
              ]} />
            <p className="fine">{t('ratesUnitNote')}</p>
          </Card>
          <BulkForm models={[...selected]} total={data.rates.length} onDone={() => { setSelected(new Set()); reload(); }} />
          <Card title={t('unpriced')}>
            {data.unpriced instanceof Error ? <ErrorBox error={data.unpriced} /> : data.unpriced.length === 0 ? <p className="muted">{t('allPriced')}</p> : (
              <>
                <p className="muted">{t('unpricedSub')}</p>
                <div className="chips">
                  {data.unpriced.map((u) => (
                    <button key={(u.provider ?? '') + u.model} type="button" className="chip chip-action" onClick={() => setEditing({ model: u.provider && !u.model.includes('/') ? `${u.provider}/${u.model}` : u.model })}>
                      {u.provider && !u.model.includes('/') ? `${u.provider}/${u.model}` : u.model} <span className="muted">+ {t('setRate')}</span>
                    </button>
                  ))}
                </div>
              </>
            )}
          </Card>
        </>
      ) : null}
    </div>
  );
}

function RateForm({ initial, onDone }: { initial: Partial<Rate>; onDone: () => void }) {
  const { t } = useI18n();
  const [model, setModel] = useState(initial.model ?? '');
  const [vals, setVals] = useState<Record<string, string>>(() =>
    Object.fromEntries(AMOUNTS.map((a) => [a.key, initial[a.key] !== undefined ? formatMicro(initial[a.key] as number).replace(/,/g, '') : '0'])),
  );
  const [error, setError] = useState<unknown>(null);
  const isNew = !initial.updated_at;
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const body: Record<string, unknown> = { model: model.trim() };
    for (const a of AMOUNTS) {
      try {
        body[a.key] = jsonInt(parseCredits(vals[a.key] || '0'));
      } catch {
        setError(new Error(t('badAmountIn', { f: t(a.label) })));
        return;
      }
    }
    try {
      await api('POST', '/api/admin/model-rates', body);
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Card title={isNew ? t('addRate') : t('editRateN', { n: initial.model ?? '' })}>
      <form className="form-grid" onSubmit={submit}>
        <Field label={t('model')} hint={t('rateModelHint')} wide>
          <input value={model} onChange={(e) => setModel(e.target.value)} required readOnly={!isNew} />
        </Field>
        {AMOUNTS.map((a) => (
          <Field key={a.key} label={t(a.label)}>
            <input inputMode="decimal" value={vals[a.key]} onChange={(e) => setVals((v) => ({ ...v, [a.key]: e.target.value }))} />
          </Field>
        ))}
        <ErrorBox error={error} />
        <div className="form-actions">
          <button className="btn btn-primary" type="submit">{t('save')}</button>
          <button className="btn btn-ghost" type="button" onClick={onDone}>{t('cancel')}</button>
        </div>
      </form>
    </Card>
  );
}

function BulkForm({ models, total, onDone }: { models: string[]; total: number; onDone: () => void }) {
  const { t } = useI18n();
  const [margin, setMargin] = useState('10');
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  // the factor is 1 + margin/100, built as a decimal string: exact, no float
  const factor = (() => {
    try {
      const m = parseCredits(margin, true); // margin in percent, 6 decimals → micro-percent
      const f = 100_000_000n + m; // (100 + margin)% in micro-percent
      if (f < 0n) return null;
      const s = ((f / 100_000_000n).toString() + '.' + (f % 100_000_000n).toString().padStart(8, '0')).replace(/\.?0+$/, '') || '0';
      // the API takes at most 6 decimals: a margin of at most 4 decimals (in %)
      return (s.split('.')[1] ?? '').length > 6 ? null : s;
    } catch {
      return null;
    }
  })();
  const apply = async (all: boolean) => {
    setError(null);
    setDone(null);
    if (!factor) {
      setError(new Error(t('badMargin')));
      return;
    }
    try {
      await api('POST', '/api/admin/model-rates/bulk', all ? { all: true, multiply: factor } : { models, multiply: factor });
      setDone(t('bulkDone', { f: factor }));
      onDone();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <Card title={t('bulkTitle')}>
      <div className="form-grid">
        <Field label={t('marginPercent')} hint={factor ? t('factorIs', { f: factor }) : t('badMargin')}>
          <input inputMode="decimal" value={margin} onChange={(e) => setMargin(e.target.value)} />
        </Field>
        <div className="form-actions">
          <button className="btn btn-secondary" type="button" disabled={!models.length || !factor} onClick={() => apply(false)}>{t('applyToSelected', { n: models.length })}</button>
          <ConfirmButton className="btn btn-secondary" label={t('applyToAll', { n: total })} confirmLabel={t('confirmApplyAll')} disabled={!total || !factor} onConfirm={() => apply(true)} />
        </div>
      </div>
      <ErrorBox error={error} />
      {done ? <div className="alert alert-info">{done}</div> : null}
    </Card>
  );
}
