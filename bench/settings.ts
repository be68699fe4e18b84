// A timing profile of automatic failover given as activation.KEY=VALUE pairs: bench:drills'
// --set and the fault test's GPMIRROR_AUTO_SET (comma-separated). The stack's config checks
// the values as usual; this only keeps the pairs to activation.* keys.
export function activationSettings(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const m = /^(activation\.[A-Za-z]+)=([A-Za-z0-9._-]+)$/.exec(pair);
    if (!m) throw new Error(`a timing setting is activation.KEY=VALUE, got "${pair}"`);
    out[m[1]] = m[2];
  }
  return out;
}
