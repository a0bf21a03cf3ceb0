// Small building blocks shared by the pages.
import { useCallback, useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError } from '../api';
import { useI18n, type MsgKey } from '../i18n';

/** useAsync runs load when deps change and on reload(); it keeps the last data while reloading. */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  useEffect(() => {
    const my = ++seq.current;
    setLoading(true);
    load().then(
      (d) => {
        if (my !== seq.current) return;
        setData(d);
        setError(null);
        setLoading(false);
      },
      (e: Error) => {
        if (my !== seq.current) return;
        setError(e);
        setLoading(false);
      },
    );
  }, [...deps, tick]); // the caller names load's inputs in deps
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, loading, reload, setData };
}

/** useAction runs what a form's submit or a button's press does, keeping
 * whether it is running and how it failed: run(f) clears the error, sets busy
 * while f runs and keeps the error f throws; submit(f) is a form's onSubmit
 * that runs f. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (f: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await f();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const submit = (f: () => Promise<void>) => (e: FormEvent) => {
    e.preventDefault();
    void run(f);
  };
  return { busy, error, setError, run, submit };
}

export function ErrorBox({ error }: { error: unknown }) {
  const { t } = useI18n();
  if (!error) return null;
  const msg = error instanceof Error ? error.message : String(error);
  const status = error instanceof ApiError ? error.status : 0;
  return (
    <div className="alert alert-error" role="alert">
      <strong>{t('error')}</strong>
      {status ? <span className="muted"> ({status})</span> : null}: {msg}
    </div>
  );
}

export function Loading() {
  const { t } = useI18n();
  return <div className="loading" aria-busy="true">{t('loading')}</div>;
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

export function PageHeader({ title, subtitle, actions }: { title: string; subtitle?: ReactNode; actions?: ReactNode }) {
  return (
    <div className="page-header">
      <div>
        <h1>{title}</h1>
        {subtitle ? <p className="muted">{subtitle}</p> : null}
      </div>
      {actions ? <div className="page-actions">{actions}</div> : null}
    </div>
  );
}

export function Card({ title, actions, children, className }: { title?: ReactNode; actions?: ReactNode; children: ReactNode; className?: string }) {
  return (
    <section className={'card ' + (className ?? '')}>
      {title || actions ? (
        <div className="card-head">
          {title ? <h2>{title}</h2> : <span />}
          {actions}
        </div>
      ) : null}
      {children}
    </section>
  );
}

const statusTone: Record<string, string> = {
  ok: 'good', active: 'good', healthy: 'good', true: 'good',
  error: 'bad', broken: 'bad', revoked: 'bad', unavailable: 'bad',
  aborted: 'warn', cooling_down: 'warn', expired: 'warn',
  disabled: 'mute', false: 'mute',
};

/** enumLabel translates an API enum value (a status, a ledger or plugin kind) when the dictionary has it. */
export function useEnumLabel() {
  const { t } = useI18n();
  return (prefix: string, v: string) => {
    const key = (prefix + v) as MsgKey;
    const s = t(key);
    return s === key ? v : s;
  };
}

/** Badge shows a status word; known statuses are translated and coloured. */
export function Badge({ status, label }: { status: string; label?: string }) {
  const { t } = useI18n();
  const key = ('status_' + status) as MsgKey;
  const text = label ?? (t(key) === key ? status : t(key));
  return <span className={'badge badge-' + (statusTone[status] ?? 'mute')}>{text}</span>;
}

/** ConfirmButton asks once more, in place, before doing something that cannot be undone. */
export function ConfirmButton({ label, confirmLabel, onConfirm, className, disabled }: {
  label: string; confirmLabel: string; onConfirm: () => void | Promise<void>; className?: string; disabled?: boolean;
}) {
  const { t } = useI18n();
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  if (!asking)
    return (
      <button type="button" className={'btn ' + (className ?? 'btn-danger-ghost')} disabled={disabled} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  return (
    <span className="confirm">
      <button type="button" className="btn btn-danger" disabled={busy} onClick={async () => {
        setBusy(true);
        try {
          await onConfirm();
        } finally {
          setBusy(false);
          setAsking(false);
        }
      }}>
        {confirmLabel}
      </button>
      <button type="button" className="btn btn-ghost" onClick={() => setAsking(false)}>{t('cancel')}</button>
    </span>
  );
}

export function CopyButton({ text }: { text: string }) {
  const { t } = useI18n();
  const [done, setDone] = useState(false);
  return (
    <button type="button" className="btn btn-secondary" onClick={async () => {
      try {
        await navigator.clipboard.writeText(text);
      } catch {
        // clipboard refused (no permission, not a secure context): select the text instead
        const el = document.querySelector<HTMLElement>('[data-copy-source]');
        if (el) window.getSelection()?.selectAllChildren(el);
      }
      setDone(true);
      setTimeout(() => setDone(false), 1500);
    }}>
      {done ? t('copied') : t('copy')}
    </button>
  );
}

export interface Column<R> {
  key: string;
  label: ReactNode;
  render: (row: R) => ReactNode;
  className?: string;
  /** the label shown beside the value when the table becomes cards (a string) */
  cardLabel?: string;
}

/** DataTable is a table on wide screens and a list of cards on narrow ones. */
export function DataTable<R>({ columns, rows, rowKey, empty, onRowClick, className }: {
  columns: Column<R>[]; rows: R[]; rowKey: (r: R) => string | number; empty?: ReactNode; onRowClick?: (r: R) => void; className?: string;
}) {
  if (rows.length === 0 && empty) return <Empty>{empty}</Empty>;
  return (
    <div className={'table-wrap ' + (className ?? '')}>
      <table className="table">
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.key} className={c.className}>{c.label}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={rowKey(r)} className={onRowClick ? 'clickable' : undefined} onClick={onRowClick ? () => onRowClick(r) : undefined}>
              {columns.map((c) => (
                <td key={c.key} className={c.className} data-label={c.cardLabel ?? (typeof c.label === 'string' ? c.label : '')}>
                  <div className="cell">{c.render(r)}</div>
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function Field({ label, hint, children, wide }: { label: string; hint?: ReactNode; children: ReactNode; wide?: boolean }) {
  return (
    <label className={'field' + (wide ? ' field-wide' : '')}>
      <span className="field-label">{label}</span>
      {children}
      {hint ? <span className="field-hint">{hint}</span> : null}
    </label>
  );
}

/** Stat is one number on a card, with its change against the previous period. */
export function Stat({ label, value, sub, change, lowerIsBetter, testId }: {
  label: string; value: ReactNode; sub?: ReactNode; change?: number | null; lowerIsBetter?: boolean; testId?: string;
}) {
  const { t } = useI18n();
  let delta: ReactNode = null;
  if (change !== undefined) {
    if (change === null) delta = <span className="delta delta-none">{t('noPrevious')}</span>;
    else {
      const up = change > 0;
      const good = change === 0 ? null : up !== !!lowerIsBetter;
      delta = (
        <span className={'delta ' + (good === null ? 'delta-none' : good ? 'delta-good' : 'delta-bad')}>
          {change === 0 ? '±0%' : (up ? '▲ ' : '▼ ') + Math.abs(change).toFixed(1) + '%'} <span className="muted">{t('vsPrevious')}</span>
        </span>
      );
    }
  }
  return (
    <div className="stat" data-testid={testId}>
      <div className="stat-label">{label}</div>
      <div className="stat-value">{value}</div>
      {sub ? <div className="stat-sub">{sub}</div> : null}
      {delta}
    </div>
  );
}
