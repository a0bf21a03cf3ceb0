// The signed-in session, shared by the pages.
import { createContext, useContext } from 'react';
import type { Session } from './api';

export interface SessionCtx {
  session: Session;
  isAdmin: boolean;
  /** refreshBalance reads the header's balance again (after a chat, say). */
  refreshBalance: () => void;
}

export const SessionContext = createContext<SessionCtx | null>(null);

export function useSession(): SessionCtx {
  const c = useContext(SessionContext);
  if (!c) throw new Error('useSession outside a session');
  return c;
}
