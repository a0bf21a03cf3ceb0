// English and Simplified Chinese. Every visible string is a key of `en`;
// `zh` must have the same keys (the type checker enforces it). The chosen
// language is remembered in localStorage (only the language: never a key).
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { en, zh } from './strings';

export type Lang = 'en' | 'zh';
export type MsgKey = keyof typeof en;
export type T = (key: MsgKey, vars?: Record<string, string | number>) => string;

const dicts: Record<Lang, Record<MsgKey, string>> = { en, zh };
const STORAGE = 'hub.lang';

function initialLang(): Lang {
  try {
    const saved = localStorage.getItem(STORAGE);
    if (saved === 'en' || saved === 'zh') return saved;
  } catch {
    /* storage unavailable */
  }
  return navigator.language?.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

interface I18n {
  lang: Lang;
  setLang: (l: Lang) => void;
  t: T;
  /** locale is the BCP 47 tag for dates and numbers. */
  locale: string;
}

const Ctx = createContext<I18n | null>(null);

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const setLang = useCallback((l: Lang) => {
    setLangState(l);
    try {
      localStorage.setItem(STORAGE, l);
    } catch {
      /* storage unavailable */
    }
  }, []);
  useEffect(() => {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    document.title = dicts[lang].appName;
  }, [lang]);
  const value = useMemo<I18n>(() => {
    const d = dicts[lang];
    const t: T = (key, vars) => {
      let s = d[key] ?? en[key] ?? key;
      if (vars) for (const [k, v] of Object.entries(vars)) s = s.split(`{${k}}`).join(String(v));
      return s;
    };
    return { lang, setLang, t, locale: lang === 'zh' ? 'zh-CN' : 'en-US' };
  }, [lang, setLang]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useI18n(): I18n {
  const c = useContext(Ctx);
  if (!c) throw new Error('useI18n outside I18nProvider');
  return c;
}
