// Playground: chat with any model through the hub's OpenAI surface,
// streamed, with the session cookie and CSRF token; after each reply, the
// usage the stream reported and the call's cost from the call record.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { ApiError, errorOf, get, requestHeaders, type Call, type List, type Model } from '../api';
import { Card, ErrorBox, Field, Loading, PageHeader, useAsync } from '../components/ui';
import { fmtInt, fmtMs } from '../format';
import { useI18n } from '../i18n';
import { formatCreditsString } from '../money';
import { href } from '../router';
import { useSession } from '../session';

interface Msg {
  role: 'user' | 'assistant' | 'system';
  content: string;
}

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

interface Turn {
  requestId: string;
  usage?: Usage;
  call?: Call;
  callError?: unknown;
  ms: number;
}

/** findCall reads the call record of a request, waiting briefly for the recorder to write it. */
async function findCall(base: string, id: string): Promise<Call> {
  let last: unknown;
  for (let i = 0; i < 20; i++) {
    try {
      return await get<Call>(`${base}/${encodeURIComponent(id)}`);
    } catch (e) {
      last = e;
      if (!(e instanceof ApiError) || e.status !== 404) throw e;
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  throw last;
}

export function PlaygroundPage() {
  const { t, locale } = useI18n();
  const { isAdmin, refreshBalance } = useSession();
  const models = useAsync(() => get<List<Model>>('/v1/models').then((l) => l.data.map((m) => m.id)), []);
  const [model, setModel] = useState('');
  const [system, setSystem] = useState('');
  const [input, setInput] = useState('');
  const [msgs, setMsgs] = useState<Msg[]>([]);
  const [turns, setTurns] = useState<Record<number, Turn>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const abort = useRef<AbortController | null>(null);
  const end = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!model && models.data?.length) setModel(models.data[0]);
  }, [models.data, model]);
  useEffect(() => end.current?.scrollIntoView?.({ block: 'nearest' }), [msgs]);
  useEffect(() => () => abort.current?.abort(), []);

  const send = async (e: FormEvent) => {
    e.preventDefault();
    const text = input.trim();
    if (!text || !model || busy) return;
    setError(null);
    setInput('');
    const history: Msg[] = [...msgs, { role: 'user', content: text }];
    const idx = history.length; // the assistant's message
    setMsgs([...history, { role: 'assistant', content: '' }]);
    setBusy(true);
    const ctl = new AbortController();
    abort.current = ctl;
    const started = performance.now();
    let requestId = '';
    let usage: Usage | undefined;
    try {
      const res = await fetch('/v1/chat/completions', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { ...requestHeaders('POST', true), Accept: 'text/event-stream' },
        body: JSON.stringify({
          model,
          messages: system.trim() ? [{ role: 'system', content: system.trim() }, ...history] : history,
          stream: true,
          stream_options: { include_usage: true },
        }),
        signal: ctl.signal,
      });
      requestId = res.headers.get('X-Request-Id') ?? '';
      if (!res.ok || !res.body) throw await errorOf(res);
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      let buf = '';
      let answer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).replace(/\r$/, '');
          buf = buf.slice(nl + 1);
          if (!line.startsWith('data:')) continue;
          const data = line.slice(5).trim();
          if (data === '[DONE]') continue;
          let ev: { choices?: { delta?: { content?: string } }[]; usage?: Usage; error?: { message?: string } };
          try {
            ev = JSON.parse(data);
          } catch {
            continue;
          }
          if (ev.error) throw new Error(ev.error.message ?? 'stream error');
          const piece = ev.choices?.[0]?.delta?.content;
          if (piece) {
            answer += piece;
            const a = answer;
            setMsgs((m) => m.map((x, i) => (i === idx ? { ...x, content: a } : x)));
          }
          if (ev.usage) usage = ev.usage;
        }
      }
    } catch (err) {
      if ((err as Error).name !== 'AbortError') setError(err);
    } finally {
      setBusy(false);
      abort.current = null;
    }
    const ms = performance.now() - started;
    if (!requestId) return;
    setTurns((ts) => ({ ...ts, [idx]: { requestId, usage, ms } }));
    try {
      const call = await findCall(isAdmin ? '/api/admin/calls' : '/api/calls', requestId);
      setTurns((ts) => ({ ...ts, [idx]: { ...ts[idx], call } }));
    } catch (err) {
      setTurns((ts) => ({ ...ts, [idx]: { ...ts[idx], callError: err } }));
    }
    refreshBalance();
  };

  return (
    <div className="playground">
      <PageHeader title={t('navPlayground')} subtitle={t('playgroundSub')}
        actions={<button className="btn btn-ghost" type="button" disabled={busy || !msgs.length} onClick={() => { setMsgs([]); setTurns({}); setError(null); }}>{t('newChat')}</button>} />
      <ErrorBox error={models.error} />
      {!models.data && models.loading ? <Loading /> : null}
      <div className="pg-grid">
        <Card className="pg-settings">
          <Field label={t('model')}>
            <select data-testid="pg-model" value={model} onChange={(e) => setModel(e.target.value)}>
              {(models.data ?? []).map((m) => <option key={m} value={m}>{m}</option>)}
            </select>
          </Field>
          <Field label={t('systemPrompt')} hint={t('optional')}>
            <textarea rows={4} value={system} onChange={(e) => setSystem(e.target.value)} />
          </Field>
        </Card>
        <Card className="pg-chat">
          <div className="messages" data-testid="messages">
            {msgs.length === 0 ? <p className="muted center">{t('playgroundEmpty')}</p> : null}
            {msgs.map((m, i) => (
              <div key={i} className={'msg msg-' + m.role} data-testid={m.role === 'assistant' ? 'assistant-msg' : 'user-msg'}>
                <div className="msg-role">{m.role === 'user' ? t('you') : model}</div>
                <div className="msg-body">{m.content || (busy && i === msgs.length - 1 ? <span className="typing">●●●</span> : '')}</div>
                {turns[i] ? <TurnInfo turn={turns[i]} locale={locale} /> : null}
              </div>
            ))}
            <div ref={end} />
          </div>
          <ErrorBox error={error} />
          <form className="composer" onSubmit={send}>
            <textarea data-testid="pg-input" rows={2} value={input} placeholder={t('typeMessage')} onChange={(e) => setInput(e.target.value)}
              onKeyDown={(e) => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); e.currentTarget.form?.requestSubmit(); } }} />
            {busy ? (
              <button className="btn btn-secondary" type="button" onClick={() => abort.current?.abort()}>{t('stop')}</button>
            ) : (
              <button className="btn btn-primary" type="submit" data-testid="pg-send" disabled={!input.trim() || !model}>{t('send')}</button>
            )}
          </form>
        </Card>
      </div>
    </div>
  );
}

function TurnInfo({ turn, locale }: { turn: Turn; locale: string }) {
  const { t } = useI18n();
  return (
    <div className="msg-meta" data-testid="turn-info">
      {turn.usage ? (
        <span data-testid="usage">{t('usageLine', { p: fmtInt(turn.usage.prompt_tokens, locale), c: fmtInt(turn.usage.completion_tokens, locale) })}</span>
      ) : null}
      <span>{fmtMs(turn.ms)}</span>
      {turn.call ? (
        <span data-testid="cost">{t('cost')}: <strong>{formatCreditsString(turn.call.charged_credits)}</strong> {t('creditsUnit')}</span>
      ) : turn.callError ? <span className="text-bad">{t('costUnavailable')}</span> : <span className="muted">{t('costPending')}</span>}
      <a className="mono" href={href(['calls', turn.requestId])}>{t('viewCall')}</a>
    </div>
  );
}
