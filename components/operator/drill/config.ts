// The stack settings a drill changes for its `pulumi up` runs, saved before and put back
// after (also when the drill fails midway), so that the next real activation through the
// README's config switch starts from the user's own settings, not from the drill's (a
// switchover mode left behind refused a real failover).
import type { ConfigMap, ConfigValue } from "@pulumi/pulumi/automation";

/** What a drill needs of a stack's config (an automation Stack has it). */
export interface ConfigStore {
  getAllConfig(): Promise<ConfigMap>;
  setConfig(key: string, value: ConfigValue, path?: boolean): Promise<void>;
  removeConfig(key: string, path?: boolean): Promise<void>;
}

/**
 * The settings the drill sets and restores. Not activeMaster: it names the host that is the
 * master after the drill (the other one without --failback), and putting the old name back
 * would make the next `pulumi up` activate the host that is now the standby.
 */
export const DRILL_KNOBS = [
  { key: "gpmirror:activation.mode", path: true },
  { key: "gpmirror:activation.force", path: true },
  { key: "gpmirror:protect", path: false },
] as const;

interface Saved {
  key: string;
  path: boolean;
  /** The top-level key (gpmirror:activation for gpmirror:activation.mode). */
  top: string;
  topPresent: boolean;
  value?: ConfigValue;
}

export type ConfigSnapshot = Saved[];

function split(key: string, path: boolean): { top: string; leaf?: string } {
  if (!path) return { top: key };
  const colon = key.indexOf(":");
  const dot = key.indexOf(".", colon + 1);
  return dot < 0 ? { top: key } : { top: key.slice(0, dot), leaf: key.slice(dot + 1) };
}

/** The current values of `settings` (absent ones remembered as absent). */
export async function saveConfig(
  store: Pick<ConfigStore, "getAllConfig">,
  settings: readonly { key: string; path: boolean }[] = DRILL_KNOBS,
): Promise<ConfigSnapshot> {
  const all = await store.getAllConfig();
  return settings.map(({ key, path }) => {
    const { top, leaf } = split(key, path);
    const t = all[top];
    if (!t) return { key, path, top, topPresent: false };
    if (leaf === undefined) return { key, path, top, topPresent: true, value: t };
    let parsed: unknown;
    try {
      parsed = JSON.parse(t.value);
    } catch {
      parsed = undefined;
    }
    const v =
      parsed && typeof parsed === "object" ? (parsed as Record<string, unknown>)[leaf] : undefined;
    return {
      key,
      path,
      top,
      topPresent: true,
      ...(v === undefined || v === null ? {} : { value: { value: String(v), secret: t.secret } }),
    };
  });
}

/**
 * Puts the saved values back where they differ now: absent ones removed, the others set as
 * they were. Returns the keys it changed.
 */
export async function restoreConfig(store: ConfigStore, saved: ConfigSnapshot): Promise<string[]> {
  const now = await saveConfig(store, saved);
  const same = (a: Saved, b: Saved) =>
    a.topPresent === b.topPresent &&
    a.value?.value === b.value?.value &&
    (a.value?.secret ?? false) === (b.value?.secret ?? false);
  const changed: string[] = [];
  const removedTops = new Set<string>();
  for (const [i, s] of saved.entries()) {
    const cur = now[i];
    if (same(s, cur)) continue;
    changed.push(s.key);
    if (!s.topPresent) {
      // Absent before (e.g. no activation settings at all): no empty object left behind.
      if (cur.topPresent && !removedTops.has(s.top)) await store.removeConfig(s.top);
      removedTops.add(s.top);
    } else if (s.value === undefined) {
      if (cur.value !== undefined) await store.removeConfig(s.key, s.path);
    } else {
      await store.setConfig(s.key, s.value, s.path);
    }
  }
  return changed;
}

/** Runs `body` and restores the drill's settings afterwards, whatever happened. */
export async function withConfigRestored<T>(
  store: ConfigStore,
  body: () => Promise<T>,
  onRestored: (keys: string[]) => void = () => undefined,
  settings: readonly { key: string; path: boolean }[] = DRILL_KNOBS,
): Promise<T> {
  const saved = await saveConfig(store, settings);
  try {
    return await body();
  } finally {
    onRestored(await restoreConfig(store, saved));
  }
}
