// The hub's API as the dashboard uses it: same-origin fetches that carry the
// session cookie; every state-changing request carries the session's CSRF
// token, held in memory only. The API key itself is sent once, to POST
// /api/session, and never kept.

export interface Session {
  role: 'admin' | 'user';
  account_id: number;
  account_name: string;
  key_id: number;
  key_prefix: string;
  csrf: string;
}

export class ApiError extends Error {
  status: number;
  code?: string;
  /** the parameter the error is about (a failed plugin reload: its step) */
  param?: string;
  constructor(status: number, message: string, code?: string, param?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.param = param;
  }
}

let csrf = '';
let onUnauthorized: (() => void) | null = null;

export function setCsrf(token: string) {
  csrf = token;
}
export function csrfToken(): string {
  return csrf;
}
/** setUnauthorizedHandler is called when an API call answers 401: the session is gone. */
export function setUnauthorizedHandler(f: (() => void) | null) {
  onUnauthorized = f;
}

/** headers returns the headers of a request with method. */
export function requestHeaders(method: string, json: boolean): Record<string, string> {
  const h: Record<string, string> = { Accept: 'application/json' };
  if (json) h['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrf) h['X-CSRF-Token'] = csrf;
  return h;
}

/** errorOf reads the API's error shape (OpenAI's {"error":{"message"}}) from a failed response. */
export async function errorOf(res: Response): Promise<ApiError> {
  let msg = `${res.status} ${res.statusText}`;
  let code: string | undefined;
  let param: string | undefined;
  try {
    const b = await res.json();
    if (b?.error?.message) msg = b.error.message;
    if (b?.error?.code) code = b.error.code;
    if (b?.error?.param) param = b.error.param;
  } catch {
    /* not JSON */
  }
  return new ApiError(res.status, msg, code, param);
}

export interface CallOptions {
  /** quiet401 keeps a 401 from signing the dashboard out (the sign-in itself). */
  quiet401?: boolean;
}

/** api calls the hub and returns its JSON answer (undefined for a 204). */
export async function api<T = unknown>(method: string, path: string, body?: unknown, opts: CallOptions = {}): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: requestHeaders(method, body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) {
    const err = await errorOf(res);
    if (res.status === 401 && !opts.quiet401 && onUnauthorized) onUnauthorized();
    throw err;
  }
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export const get = <T,>(path: string, opts?: CallOptions) => api<T>('GET', path, undefined, opts);

/** qs builds a query string from the set values of params. */
export function qs(params: Record<string, string | number | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  }
  const s = u.toString();
  return s ? '?' + s : '';
}

// ---- the API's shapes (host/manage views)

export interface List<T> {
  data: T[];
}

/** TokenCounts are the usage fields a call record and a usage row share. */
export interface TokenCounts {
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  images: number;
}

export interface UsageRow extends TokenCounts {
  start?: string;
  bucket: string;
  account_id?: number;
  key_id?: number;
  provider?: string;
  model?: string;
  calls: number;
  errors: number;
  aborted: number;
  charged: number;
  charged_credits: string;
  ttfb_p50_ms: number;
  ttfb_p95_ms: number;
  duration_p50_ms: number;
  duration_p95_ms: number;
}

export interface Attempt {
  attempt: number;
  started_at: string;
  provider: string;
  credential_id?: number;
  upstream_model: string;
  status: string;
  http_status: number;
  error_type?: string;
  error_message?: string;
  duration_ms: number;
}

export interface Call extends TokenCounts {
  id: number;
  request_id: string;
  created_at: string;
  api: string;
  account_id: number;
  key_id: number;
  provider: string;
  credential_id?: number;
  model: string;
  upstream_model: string;
  stream: boolean;
  status: string;
  http_status: number;
  error_type?: string;
  error_message?: string;
  usage_estimated: boolean;
  ttfb_ms: number;
  duration_ms: number;
  attempt_count: number;
  charged: number;
  charged_credits: string;
  attempts?: Attempt[];
}

export interface CallsPage {
  data: Call[];
  next_before?: string;
}

export interface Key {
  id: number;
  account_id: number;
  account: string;
  prefix: string;
  name: string;
  role: string;
  allowed_models: string[] | null;
  rpm: number;
  tpm: number;
  max_concurrency: number;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  status: string;
}

export interface Account {
  id: number;
  name: string;
  created_at: string;
  keys: number;
  balance: number;
  balance_credits: string;
}

export interface AccountInfo extends Account {
  key: Key;
}

export interface LedgerEntry {
  id: number;
  at: string;
  txn_id: string;
  request_id?: string;
  account_id: number;
  account: string;
  kind: string;
  amount: number;
  amount_credits: string;
  memo: string;
  expires_at?: string;
}

export interface Credential {
  id: number;
  provider: string;
  name: string;
  source: string;
  hint: string;
  weight: number;
  enabled: boolean;
  managed_by: string;
  created_at: string;
  updated_at: string;
}

export interface Provider {
  name: string;
  plugin: string;
  base_url: string;
  region: string;
  options: unknown;
  models: string[] | null;
  enabled: boolean;
  managed_by: string;
  created_at: string;
  updated_at: string;
  credentials: Credential[] | null;
}

export interface CredentialState {
  id: number;
  name: string;
  hint?: string;
  weight: number;
  status: string;
  reason?: string;
  cooling_until?: string;
  next_check?: string;
  successes: number;
  failures: number;
}

export interface ProviderState {
  name: string;
  status: string;
  cooling_until?: string;
  consecutive_failures: number;
  last_error?: string;
  models: string[];
  credentials: CredentialState[];
}

export interface CheckResult {
  ok: boolean;
  status: number;
  method: string;
  latency_ns: number;
  error?: string;
  error_type?: string;
}

export interface Rate {
  model: string;
  input_per_m: number;
  output_per_m: number;
  cached_read_per_m: number;
  cache_write_per_m: number;
  per_image: number;
  min_per_call: number;
  updated_at: string;
}

export interface Plugin {
  name: string;
  kind: string;
  version: string;
  sha256: string;
  source: string;
  apis: string[] | null;
  auth: string;
  stream_framing: string;
  trusted: boolean;
  pool_size: number;
  providers: string[] | null;
  /** when the serving version was loaded */
  loaded_at?: string;
  /** the module's file is watched and reloaded when it changes */
  watch?: boolean;
  /** the version POST …/rollback brings back; null when there is none */
  rollback?: PluginVersion | null;
  /** replaced versions still open for the calls that started on them */
  draining?: number;
  /** the latest reload or rollback; null when there was none */
  last_reload?: PluginReload | null;
  // call counts and pool use (added for the dashboard; any may be absent)
  [extra: string]: unknown;
}

/** PluginVersion is one build of a plugin (host/admin.PluginVersion). */
export interface PluginVersion {
  version: string;
  sha256: string;
  source: string;
  loaded_at: string;
}

/** PluginReload is the outcome of a reload or rollback (host/admin.PluginReload). */
export interface PluginReload {
  plugin: string;
  action: 'reload' | 'rollback';
  /** api, signal (SIGHUP) or watch */
  trigger: string;
  at: string;
  ok: boolean;
  /** false: the module and settings were those already serving */
  changed: boolean;
  /** the step a failed reload stopped at: load, validate, canary, warm, swap */
  step?: string;
  error?: string;
  sha256?: string;
  version?: string;
  previous?: PluginVersion;
  took_ms: number;
}

export interface Model {
  id: string;
  owned_by?: string;
}
