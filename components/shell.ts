// Quoting for values that end up in shell text. Every value a script is given passes here.

/** Quotes a value for a POSIX shell: the result is one word whatever the value holds. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

const ENV_NAME = /^GPM_[A-Z0-9_]+$/;

/** `export NAME='value'` lines that set a script's parameters ahead of its text on stdin. */
export function exportLines(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([name, value]) => {
      if (!ENV_NAME.test(name)) throw new Error(`internal: bad script parameter name ${name}`);
      return `export ${name}=${shellQuote(value)}\n`;
    })
    .join("");
}
