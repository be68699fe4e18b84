import { LocalSettings } from "./local";
import { Reader } from "./reader";

/** Access for the operator tools (status, drill) to PostgreSQL itself, from these networks. */
export interface OperatorSettings {
  user: string;
  /** Networks the operator tools connect from; none: no such access. */
  cidrs: string[];
}

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/**
 * On the local stack the tools run on this machine, so its address toward the hosts is the
 * default (the bridge in netns mode, loopback otherwise); elsewhere nothing is opened unless
 * the setting names networks.
 */
export function parseOperator(r: Reader, local: LocalSettings | undefined): OperatorSettings {
  const fallback = local ? [local.mode === "netns" ? `${local.subnet}.1/32` : "127.0.0.1/32"] : [];
  const raw = r.value("operator.cidrs");
  let cidrs = fallback;
  if (raw !== undefined) {
    if (!Array.isArray(raw) || raw.some((c) => typeof c !== "string")) {
      r.fail(
        "operator.cidrs",
        "must be a list of CIDRs",
        'pulumi config set --path "gpmirror:operator.cidrs[0]" 10.0.0.5/32',
      );
    } else {
      cidrs = raw as string[];
      for (const c of cidrs) {
        const m = CIDR.exec(c);
        if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) {
          r.fail(
            "operator.cidrs",
            `"${c}" is not an IPv4 CIDR such as 10.0.0.5/32`,
            "list the operator machines' networks as a.b.c.d/n",
          );
        } else if (c.endsWith("/0")) {
          r.fail(
            "operator.cidrs",
            `"${c}" opens PostgreSQL to every address`,
            "name the operator machines' networks",
          );
        }
      }
    }
  }
  return { user: r.name("operator.user", "gpmirror_operator"), cidrs };
}

/** What a DR drill (npm run drill) must achieve; it exits non-zero when it does not. */
export interface DrillObjectives {
  /** Failure to the first write accepted by the new primary. */
  rtoSeconds: number;
  /** Acknowledged commits that may be missing on the new primary. */
  rpoCommits: number;
}

export function parseDrill(r: Reader): DrillObjectives {
  return {
    rtoSeconds: r.integer("drill.rtoSeconds", 60, 1, 3600),
    rpoCommits: r.integer("drill.rpoCommits", 0, 0, 1_000_000_000),
  };
}
