// Binds the stores to React: one provider at the root, `useApp(selector)` and `useDebug(selector)` in the views.
import { createContext, useContext, useEffect, useState, type Context, type ReactNode } from "react";
import { useStore } from "zustand";
import type { AppState, AppStore } from "../store/app-store.js";
import type { DebugState, DebugStore } from "../store/debug-terminals.js";

const StoreContext = createContext<AppStore | null>(null);
const DebugContext = createContext<DebugStore | null>(null);

export function StoreProvider({ store, debug, children }: { store: AppStore; debug: DebugStore; children: ReactNode }) {
  return (
    <StoreContext.Provider value={store}>
      <DebugContext.Provider value={debug}>{children}</DebugContext.Provider>
    </StoreContext.Provider>
  );
}

function useProvided<T>(context: Context<T | null>, name: string): T {
  const value = useContext(context);
  if (value === null) throw new Error(`${name} outside StoreProvider`);
  return value;
}

export function useAppStore(): AppStore {
  return useProvided(StoreContext, "useAppStore");
}

export function useApp<T>(selector: (state: AppState) => T): T {
  return useStore(useAppStore(), selector);
}

/** The debug terminals' store. */
export function useDebugStore(): DebugStore {
  return useProvided(DebugContext, "useDebugStore");
}

export function useDebug<T>(selector: (state: DebugState) => T): T {
  return useStore(useDebugStore(), selector);
}

/** The current time, ticking every `intervalMs` while the component is mounted (uptimes, "5 s ago"). */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}
