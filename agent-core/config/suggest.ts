// "Did you mean …?" for a mistyped config.yaml key: the official key nearest to it by edit distance
// (Damerau–Levenshtein, optimal string alignment: a swapped pair of letters, as in `endpiont`, is one
// edit). Pure: no Node APIs.
import { CONFIG_KEYS } from "./keys.js";

/** Edits (insert, delete, substitute, swap two adjacent characters) that turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  // Three rows are enough: the current one, the one before, and the one before that (for swaps).
  let before: number[] = [];
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let best = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) best = Math.min(best, before[j - 2]! + 1);
      current.push(best);
    }
    before = previous;
    previous = current;
  }
  return previous[y.length]!;
}

/** How a key is written by mistake besides typos: `Env_Vars`, `envVars`, `env vars` all mean `env-vars`. */
function normaliseKey(key: string): string {
  return key
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .toLowerCase()
    .replace(/[\s_]+/g, "-");
}

/**
 * The candidate nearest to `word`, or null when none is near enough: at most a third of the word's
 * length in edits (at least 1, at most 3), so `tokn` finds `token` but `foo` finds nothing. A tie goes
 * to the candidate listed first.
 */
export function nearestKey(word: string, candidates: readonly string[]): string | null {
  const wanted = normaliseKey(word);
  if (wanted === "") return null;
  const limit = Math.min(3, Math.max(1, Math.floor([...wanted].length / 3)));
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (candidate === word) continue; // the word itself is not a suggestion
    const distance = editDistance(wanted, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== null && bestDistance <= limit ? best : null;
}

/** The keys a config.yaml may hold (config-file selects the file; it means nothing inside one). */
export const CONFIG_FILE_KEYS: readonly string[] = CONFIG_KEYS.filter((spec) => !spec.cliOnly).map((spec) => spec.key);

/** The config.yaml key `word` was probably meant to be (`endpiont` → `endpoint`), or null. */
export function suggestConfigKey(word: string): string | null {
  return nearestKey(word, CONFIG_FILE_KEYS);
}
