// A sandbox for the Greenplum remote scripts: bash runs them against stubs of Greenplum's
// tools. The stubs RECORD every call (argv and the environment the utilities read: PGPORT
// and the data directory variables) and REPLAY real Greenplum 7.0.0 outputs
// (test/fixtures/greenplum); `ssh` runs the remote part on this machine, in directories
// standing for the other hosts. No Greenplum runs here: this checks what the scripts send and
// how they judge what comes back, not Greenplum itself.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { remoteScript } from "../../components/engines/scriptText";

export const REPO = path.join(__dirname, "..", "..");
const FIXTURES = path.join(REPO, "test", "fixtures", "greenplum");
export const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name), "utf8");

export const VERSION_LINES = {
  gp6: "postgres (Greenplum Database) 6.26.4 build commit:b3c2a6e1 Open Source",
  gp7: "postgres (Greenplum Database) 7.0.0 build commit:0a7a3566873325aca1789ae6f818c80f17a9402d",
  cloudberry: "postgres (Apache Cloudberry) 2.0.0-incubating build dev",
} as const;
export type Flavor = keyof typeof VERSION_LINES;

// One stub per tool. `rec` writes: tool, PGPORT, COORDINATOR_DATA_DIRECTORY,
// MASTER_DATA_DIRECTORY, then the arguments, separated by tabs.
const REC = `rec() { local t="$1"; shift; { printf '%s\\t%s\\t%s\\t%s' "$t" "\${PGPORT-<unset>}" "\${COORDINATOR_DATA_DIRECTORY-<unset>}" "\${MASTER_DATA_DIRECTORY-<unset>}"; printf '\\t%s' "$@"; printf '\\n'; } >>"$STUB_STATE/calls"; }`;

const STUBS: Record<string, string> = {
  id: `case "$1" in -u) echo 1000 ;; -un) echo "$STUB_USER" ;; *) echo "uid=1000($STUB_USER)" ;; esac`,
  postgres: `${REC}\nrec postgres "$@"\n[[ "$1" == --gp-version ]] && cat "$STUB_STATE/version"`,
  psql: `${REC}
rec psql "$@"
sql="" n=""
while (($#)); do
  case "$1" in
    -c) sql+="$2"; shift 2 ;;
    -v) [[ "$2" == n=* ]] && n="\${2#n=}"; shift 2 ;;
    *) shift ;;
  esac
done
[[ -n "$sql" ]] || { sql="$(cat)"; printf '%s\n' "$sql" >>"$STUB_STATE/psql_stdin"; }
S="$STUB_STATE"
case "$sql" in
  *pg_is_in_recovery*) cat "$S/in_recovery" ;;
  *"count(*) FROM pg_stat_replication"*) if [[ -f "$S/repl" ]] && grep -q '^streaming' "$S/repl"; then echo 1; else echo 0; fi ;;
  *"FROM pg_roles WHERE rolname = :'r'"*) if [[ -f "$S/role_exists" ]]; then echo 1; else echo 0; fi ;;
  *"rolname = 'pg_monitor'"*) if [[ -f "$S/has_pg_monitor" ]]; then echo 1; else echo 0; fi ;;
  *"FROM pg_database WHERE datname"*) if [[ -f "$S/db_exists" ]]; then echo 1; else echo 0; fi ;;
  *"CREATE ROLE"*) : >"$S/role_exists" ;;
  *"CREATE DATABASE"*) : >"$S/db_exists" ;;
  *pg_hba_file_rules*) echo 0 ;;
  *"SELECT pg_reload_conf()"*) echo t ;;
  *"SELECT hostname, address, port, datadir, status"*) [[ ! -f "$S/registered_row" ]] || cat "$S/registered_row" ;;
  *"count(*)"*"role = 'm'"*) if [[ -f "$S/standby_row" ]]; then echo 1; else echo 0; fi ;;
  *"role = 'm'"*) [[ ! -f "$S/standby_row" ]] || cat "$S/standby_row" ;;
  *"SELECT dbid, port, datadir, hostname"*) cat "$S/primary_row" ;;
  *"SELECT application_name, state, sync_state"*) [[ ! -f "$S/repl_rows" ]] || cat "$S/repl_rows" ;;
  *"pg_walfile_name("*|*"pg_xlogfile_name("*) cat "$S/walfile" ;;
  *"current_setting('synchronous_standby_names')"*) echo ;;
  *"SELECT port, datadir"*) cut -d'|' -f2,3 "$S/primary_row" ;;
  *"count(*)"*"content >= 0"*) if [[ -f "$S/segments_up" ]]; then cat "$S/segments_up"; else echo 1; fi ;;
  *"SELECT state, sync_state, "*) [[ ! -f "$S/repl" ]] || echo "$(cat "$S/repl")|0/C000060|0/C000060|0/C000060|0|0|0" ;;
  *"SELECT state, sync_state FROM"*) [[ ! -f "$S/repl" ]] || cat "$S/repl" ;;
  *"name = :'n'"*) cat "$S/setting_$n" ;;
  *"name = 'wal_keep"*) if [[ -f "$S/wal_keep" ]]; then cat "$S/wal_keep"; else echo 320; fi ;;
  *"name = 'wal_segment_size'"*) cat "$S/wal_segment_bytes" ;;
  *"SELECT pg_current"*) if [[ -f "$S/current_lsn" ]]; then cat "$S/current_lsn"; else echo 0/C000060; fi ;;
  *"(pg_current_wal_lsn(), '0/8000110')"*) echo $((0xC000060 - 0x8000110)) ;;
  *"FROM gp_segment_configuration WHERE content >= 0 ORDER BY"*) [[ ! -f "$S/segments" ]] || cat "$S/segments" ;;
  *pg_terminate_backend*) echo 2 ;;
  *"CREATE TEMP TABLE"*) [[ "$(cat "$S/in_recovery")" == f ]] || exit 2 ;;
  *) : ;;
esac`,
  gpinitstandby: `${REC}
rec gpinitstandby "$@"
S="$STUB_STATE"
case " $* " in
  *" -r "*) # as observed (step5a): catalog row gone, standby stopped, its data directory deleted
    rm -rf "$(cut -d'|' -f5 "$S/standby_row")"; rm -f "$S/standby_row" "$S/repl"
    echo "Successfully removed standby coordinator"; exit 0 ;;
  *" -n "*) echo streaming\\|sync >"$S/repl"; echo "Successfully started standby coordinator"; exit 0 ;;
esac
cat "$S/gpinitstandby.out"
rc="$(cat "$S/gpinitstandby.rc")"
if [[ "$rc" == 0 ]]; then
  cp "$S/standby_row.after" "$S/standby_row"
  echo streaming\\|sync >"$S/repl"
fi
exit "$rc"`,
  // gpinitsystem -a -c CONFIG -h HOSTFILE: keeps a copy of what it was given; unless told to
  // fail early, makes the master it was asked for (PG_VERSION, catalog row, accepting).
  gpinitsystem: `${REC}
rec gpinitsystem "$@"
S="$STUB_STATE"
cfg="" hosts=""
while (($#)); do case "$1" in -c) cfg="$2"; shift 2 ;; -h) hosts="$2"; shift 2 ;; *) shift ;; esac; done
cp "$cfg" "$S/gpinitsystem_config.seen"
cp "$hosts" "$S/hostfile.seen"
[[ ! -f "$S/gpinitsystem.out" ]] || cat "$S/gpinitsystem.out"
if [[ ! -f "$S/gpinitsystem.fails_early" ]]; then
  (
    . "$cfg"
    d="\${COORDINATOR_DIRECTORY:-$MASTER_DIRECTORY}/\${SEG_PREFIX}-1"
    mkdir -p "$d" && echo 12 >"$d/PG_VERSION"
    printf '1|%s|%s|%s\\n' "\${COORDINATOR_PORT:-$MASTER_PORT}" "$d" "\${COORDINATOR_HOSTNAME:-$MASTER_HOSTNAME}" >"$S/primary_row"
  )
  echo f >"$S/in_recovery"
fi
if [[ -f "$S/gpinitsystem.rc" ]]; then exit "$(cat "$S/gpinitsystem.rc")"; fi`,
  gpstart: `${REC}\nrec gpstart "$@"\necho f >"$STUB_STATE/in_recovery"`,
  // ping ... HOST: fails for a host marked noping_HOST.
  ping: `${REC}\nrec ping "$@"\nfor a; do h="$a"; done\n[[ ! -f "$STUB_STATE/noping_$h" ]]`,
  // With gpactivatestandby.rc: prints its output and exits so, promoting nothing (a refusal).
  // It also keeps GPMIRROR_PEER_FENCED, which shortens its ssh toward the old host (trust.sh).
  gpactivatestandby: `${REC}\nrec gpactivatestandby "$@"\necho "\${GPMIRROR_PEER_FENCED-<unset>}" >"$STUB_STATE/gpactivatestandby.peer_fenced"\ncat "$STUB_STATE/gpactivatestandby.out"\n[[ ! -f "$STUB_STATE/gpactivatestandby.rc" ]] || exit "$(cat "$STUB_STATE/gpactivatestandby.rc")"\necho f >"$STUB_STATE/in_recovery"\nrm -f "$STUB_STATE/standby.signal.path"`,
  gpconfig: `${REC}\nrec gpconfig "$@"\nprintf '%s' "$4" >"$STUB_STATE/setting_$2.pending"`,
  // gpstop -m -d DIR (coordinator only): ends the process named in DIR/postmaster.pid, as a
  // fast stop would, unless told to fail. gpstop -u: applies what gpconfig wrote.
  gpstop: `${REC}
rec gpstop "$@"
if [[ " $* " == *" -m "* ]]; then
  [[ ! -f "$STUB_STATE/gpstop_m.fails" ]] || { echo "[ERROR]:-gpstop failed" >&2; exit 1; }
  d=""; while (($#)); do [[ "$1" == -d ]] && d="$2"; shift; done
  if [[ -f "$d/postmaster.pid" ]]; then
    pid="$(head -n 1 "$d/postmaster.pid")"; kill "$pid"
    while [[ -d "/proc/$pid" ]] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; do sleep 0.1; done
    rm -f "$d/postmaster.pid"
  fi
  exit 0
fi
for f in "$STUB_STATE"/setting_*.pending; do
  [[ -e "$f" ]] || continue
  v="$(cat "$f")"; case "$v" in *s) v=$(( \${v%s} * 1000 )) ;; esac
  printf '%s\\n' "$v" >"\${f%.pending}"; rm -f "$f"
done`,
  // pg_waldump / pg_xlogdump -p DIR -t TLI -s LSN -n 1: the record given in waldump.out once
  // the standby has it, else the tool's failure to find it.
  pg_waldump: `${REC}\nrec pg_waldump "$@"\nif [[ -f "$STUB_STATE/waldump.out" ]]; then cat "$STUB_STATE/waldump.out"; else echo "pg_waldump: fatal: could not find a valid record" >&2; exit 1; fi`,
  pg_xlogdump: `${REC}\nrec pg_xlogdump "$@"\nif [[ -f "$STUB_STATE/waldump.out" ]]; then cat "$STUB_STATE/waldump.out"; else echo "pg_xlogdump: FATAL:  could not find a valid record" >&2; exit 1; fi`,
  gpstate: `${REC}\nrec gpstate "$@"\ncat "$STUB_STATE/gpstate.out"`,
  pg_controldata: `${REC}\nrec pg_controldata "$@"\ncat "$STUB_STATE/controldata"`,
  // pg_ctl stop -D DIR: ends the process named in DIR/postmaster.pid, as a fast stop would.
  // pg_ctl start ... -D DIR: a live process named in DIR/postmaster.pid (it ends in 30 s).
  pg_ctl: `${REC}
rec pg_ctl "$@"
if [[ "$1" == start ]]; then
  d=""; while (($#)); do [[ "$1" == -D ]] && d="$2"; shift; done
  setsid sleep 30 </dev/null >/dev/null 2>&1 &
  echo "$!" >"$d/postmaster.pid"
fi
if [[ "$1" == stop && -f "$3/postmaster.pid" ]]; then
  pid="$(head -n 1 "$3/postmaster.pid")"; kill "$pid"
  while [[ -d "/proc/$pid" ]] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; do sleep 0.1; done
  rm -f "$3/postmaster.pid"
fi`,
  // sudo -n /usr/sbin/nft on a segment host (never the machine's own nftables): the table
  // gpmirror_fence's rules in $STUB_STATE/nft_rules.<host> ("handle<TAB>rule"); no_sudo: refused.
  sudo: `${REC}
rec sudo "$@"
[[ ! -f "$STUB_STATE/no_sudo" ]] || { echo "sudo: a password is required" >&2; exit 1; }
[[ "$1" == -n && "$2" == /usr/sbin/nft ]] || exit 1
shift 2
R="$STUB_STATE/nft_rules.\${STUB_SSH_HOST:-local}"
case "$*" in
  "list tables") [[ ! -f "$R" ]] || echo "table inet gpmirror_fence" ;;
  "-f -")
    while IFS= read -r line; do
      [[ "$line" == "add rule inet gpmirror_fence input "* ]] || continue
      n=$(( $( (cut -f1 "$R" 2>/dev/null; echo 1) | sort -n | tail -n 1) + 1 ))
      printf '%s\t%s\n' "$n" "\${line#add rule inet gpmirror_fence input }" >>"$R"
    done ;;
  "-a list chain inet gpmirror_fence input")
    [[ -f "$R" ]] || exit 1
    while IFS=$'\t' read -r n rule; do printf '\t\t%s # handle %s\n' "$rule" "$n"; done <"$R" ;;
  "list chain inet gpmirror_fence input")
    [[ -f "$R" ]] || exit 1
    cut -f2 "$R" | sed 's/^/\t\t/' ;;
  "delete rule inet gpmirror_fence input handle "*)
    awk -F'\t' -v h="\${@: -1}" '$1 != h' "$R" >"$R.new" && mv "$R.new" "$R" ;;
  "list table inet gpmirror_fence") [[ -f "$R" ]] ;;
  "delete table inet gpmirror_fence") rm -f "$R" ;;
  *) exit 1 ;;
esac`,
  ssh: `${REC}
rec ssh "$@"
[[ ! -f "$STUB_STATE/ssh_unreachable" ]] || { echo "ssh: connect to host $STUB_HOST port 22: Connection timed out" >&2; exit 255; }
while (($#)); do case "$1" in -o|-p) shift 2 ;; -*) shift ;; *) break ;; esac; done
[[ ! -f "$STUB_STATE/unreachable_$1" ]] || { echo "ssh: connect to host $1 port 22: Connection timed out" >&2; exit 255; }
[[ ! -f "$STUB_STATE/refused_$1" ]] || { echo "ssh: connect to host $1 port 22: Connection refused" >&2; exit 255; }
export STUB_SSH_HOST="$1"
shift
exec bash -c "$*"`,
};

export interface Sandbox {
  root: string;
  state: string;
  env: Record<string, string>;
  run(
    script: string,
    env: Record<string, string>,
  ): { status: number; stdout: string; stderr: string };
  calls(
    tool?: string,
  ): { tool: string; pgport: string; cdd: string; mdd: string; args: string[] }[];
}

export function sandbox(flavor: Flavor): Sandbox {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "gpm-gp-"));
  const gphome = path.join(root, "gphome");
  const bin = path.join(gphome, "bin");
  const state = path.join(root, "state");
  const home = path.join(root, "home");
  for (const d of [bin, state, home, path.join(root, "ids")]) fs.mkdirSync(d, { recursive: true });
  for (const [tool, body] of Object.entries(STUBS)) {
    const dir = tool === "id" ? path.join(root, "ids") : bin;
    fs.writeFileSync(path.join(dir, tool), `#!/usr/bin/env bash\n${body}\n`, { mode: 0o755 });
  }
  const envFile = flavor === "cloudberry" ? "cloudberry-env.sh" : "greenplum_path.sh";
  fs.writeFileSync(
    path.join(gphome, envFile),
    `GPHOME=${gphome}\nexport GPHOME\nexport PATH="$GPHOME/bin:$PATH"\n`,
  );
  fs.writeFileSync(path.join(state, "version"), VERSION_LINES[flavor] + "\n");
  fs.writeFileSync(path.join(state, "in_recovery"), "f\n");
  const env = {
    PATH: `${path.join(root, "ids")}:/usr/bin:/bin`,
    HOME: home,
    STUB_STATE: state,
    STUB_USER: "gpadmin",
    // Stale values a login may carry: the scripts must not let them through.
    MASTER_DATA_DIRECTORY: "/stale/master",
    COORDINATOR_DATA_DIRECTORY: "/stale/coordinator",
    PGHOST: "stale-host",
    GPM_GPHOME: gphome,
    GPM_GP_ADMIN: "gpadmin",
  };
  return {
    root,
    state,
    env,
    run(script, extra) {
      const text = remoteScript("greenplum", script);
      const r = spawnSync("bash", ["-s"], {
        input: `set -euo pipefail\n${text}`,
        env: { ...env, ...extra },
        encoding: "utf8",
        timeout: 60000,
      });
      return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    calls(tool) {
      const file = path.join(state, "calls");
      if (!fs.existsSync(file)) return [];
      return fs
        .readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => {
          const [t, pgport, cdd, mdd, ...args] = l.split("\t");
          return { tool: t, pgport, cdd, mdd, args };
        })
        .filter((c) => tool === undefined || c.tool === tool);
    },
  };
}

/** The standby's own log lines when it could never catch up (step3c: its FATAL lines). */
export function standbyLogLines(): string {
  const lines = fixture("step3c.out")
    .split("\n")
    .filter((l) => l.includes('"FATAL"') && l.includes("has already been removed"));
  if (lines.length === 0)
    throw new Error("step3c.out has no 'has already been removed' FATAL line");
  return lines.join("\n") + "\n";
}

export function must<T>(v: T | undefined): T {
  if (v === undefined) throw new Error("missing in the fixture or settings");
  return v;
}

export const lastJson = (stdout: string) => JSON.parse(stdout.trim().split("\n").pop() ?? "");

const made: Sandbox[] = [];

/** A sandbox removed by removeSandboxes() (call it from afterAll). */
export function makeSandbox(flavor: Flavor): Sandbox {
  const sb = sandbox(flavor);
  made.push(sb);
  return sb;
}

export function removeSandboxes(): void {
  for (const s of made.splice(0)) fs.rmSync(s.root, { recursive: true, force: true });
}
