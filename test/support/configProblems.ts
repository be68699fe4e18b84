import { ConfigContext, ConfigError, parseSettings, RawSettings } from "../../components/config";

/** The problems parseSettings reports for these settings (none: []). */
export function problemsOf(raw: RawSettings, ctx: ConfigContext): string[] {
  try {
    parseSettings(raw, ctx);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}
