import { createContext, type ReactNode, useContext } from 'react';
import type { Principal, Role } from './types';

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export const AuthContext = createContext<{ principal: Principal; logout: () => void } | null>(null);

export function useAuth(): { principal: Principal; logout: () => void } {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error('useAuth outside the logged-in app');
  return auth;
}

/** Whether the current user's role reaches `role` (the server checks again on every request). */
export function useCan(role: Role): boolean {
  return RANK[useAuth().principal.role] >= RANK[role];
}

/** Renders its children only for users whose role reaches `role`: buttons they may not use are hidden. */
export function Can({ need, children }: { need: Role; children: ReactNode }): ReactNode {
  return useCan(need) ? children : null;
}
