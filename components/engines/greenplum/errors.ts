// Known failures of the Greenplum utilities, from their real messages, mapped to what
// happened and what to do. The remote scripts carry the same table (lib.sh, gpm_gp_explain).

export interface KnownFailure {
  id: string;
  /** Matches the utility's own output. */
  pattern: RegExp;
  /** What happened and what to do. */
  message: string;
}

export const KNOWN_FAILURES: KnownFailure[] = [
  {
    // First: a failed `ssh localhost` made a real gpactivatestandby (7.0.0, sshd not on
    // localhost) take a running standby for a stopped one and print "Force activation
    // required"; the ssh line is the cause, not the utility's conclusion.
    id: "utility-ssh-failed",
    pattern:
      /ssh: connect to host [^ ]+ port [0-9]+: |ssh: Could not resolve hostname |Permission denied \(publickey|Host key verification failed/,
    message:
      "the utility's own ssh failed (the ssh line above). Greenplum's utilities ssh as the administrator without a password to localhost, to the host they run on by its name and to the other host; gpactivatestandby checks the standby with ssh localhost and takes a failure for a standby that does not run, so it asks for -f. Make sshd listen on localhost and on each host's address, then run pulumi up: its trust step checks each of these ssh connections",
  },
  {
    id: "standby-already-configured",
    pattern: /Standby (coordinator|master) already configured/i,
    message:
      "a standby is already registered in gp_segment_configuration; gpmirror replaces it only when greenplum.allowReplaceStandby is true (gpinitstandby -r -a, then a new gpinitstandby), or remove it yourself with gpinitstandby -r",
  },
  {
    id: "data-directory-exists",
    pattern: /Data directory already exists on host|(coordinator|master) data directory exists/i,
    message:
      "the standby's data directory already exists on the standby host (often left by an earlier failed run or an old master); move it aside, or set greenplum.moveAsideLeftoverDataDir true so gpmirror renames it with a timestamp",
  },
  {
    id: "parent-directory-missing",
    pattern: /Parent directory (\S+) does not exist/i,
    message:
      "the parent of the standby's data directory does not exist on the standby host; the prepare step creates it, so check that it ran and that the admin user may create it",
  },
  {
    id: "same-host-and-port",
    pattern: /cannot create standby on the same host and port/i,
    message:
      "the standby would use the master's own host and port; set standbyDbPort to another port or use another standby host",
  },
  {
    id: "standby-host-unreachable",
    pattern: /Unable to ping new standby host (\S+)/i,
    message:
      "gpinitstandby pings the standby host first and got no answer; allow ICMP between the hosts (a security-group rule on AWS) and check the name resolves on the master",
  },
  {
    // No capture holds this failure (every capture ran on one host, so no segment host was
    // ever away). The text is gpinitstandby's own, from its source (gpMgmt/bin/gpinitstandby,
    // print_summary: a WARNING naming the hosts, then the exception it stops with under -a),
    // not from a real run; the other entries' texts are all from real runs.
    id: "segment-hosts-unreachable",
    pattern:
      /One or more segment hosts are not currently reachable|Unable to proceed while one or more hosts are unreachable/i,
    message:
      "one or more segment hosts did not answer, and with -a gpinitstandby stops before it registers the standby (it must add the standby to pg_hba.conf on every segment); bring the segment hosts back (gpstate shows them; ssh from the master to each as the administrator must work) and run pulumi up again",
  },
  {
    // gpinitsystem (greenplum.initializeSystem): no capture either; texts from its source
    // (gp_bash_functions.sh PING_HOST, gpinitsystem CHK_MULTI_HOME). The primary step checks
    // the segment hosts itself before gpinitsystem runs, so this is the second line of defence.
    id: "gpinitsystem-host-unreachable",
    pattern:
      /\[FATAL\]:-(Unable to contact|Unknown host) \S+|Unable to get hostname output for \S+/i,
    message:
      "gpinitsystem could not reach a segment host (ping, name resolution, or ssh as the administrator): check greenplum.segmentHosts, allow ICMP and password-less ssh from the primary host to every segment host (gpssh-exkeys), then run pulumi up again",
  },
  {
    // gpinitsystem's own checks (CHK_PARAMS, CHK_QES); from its source, no capture.
    id: "gpinitsystem-directory-exists",
    pattern:
      /Instance directory \S+ exists on segment instance|(Coordinator|Master) host data directory \S+ already exists/i,
    message:
      "a data directory gpinitsystem would create already exists (left by an earlier run?): run the backout script gpinitsystem left in ~/gpAdminLogs, or move the directory aside on that host, then run pulumi up again",
  },
  {
    id: "active-postgres-on-coordinator",
    pattern: /Active postgres process on (coordinator|master)/i,
    message:
      "gpactivatestandby found the old master's /tmp/.s.PGSQL.<port>.lock on the old host: either it still runs (stop it first) or it crashed and left the lock; gpmirror removes a stale lock only after seeing the postmaster gone",
  },
  {
    id: "force-activation-required",
    pattern: /Force activation required/i,
    message:
      "the standby is not running, so gpactivatestandby needs -f; set activation.force true only when the standby is known to hold every committed transaction",
  },
  {
    id: "pgport-not-set",
    pattern: /PGPORT environment variable not set/i,
    message:
      "PGPORT was not set for the utility; gpmirror exports it on every call, so the environment file reset it: check greenplum_path.sh",
  },
  {
    id: "environment-not-loaded",
    pattern:
      /No module named '?gppylib'?|Environment Variable (COORDINATOR|MASTER)_DATA_DIRECTORY not set/i,
    message:
      "Greenplum's environment was not loaded (greenplum_path.sh or cloudberry-env.sh, and the data directory variable); check greenplum.gphome",
  },
  {
    id: "no-standby-configured",
    pattern: /no standby (located|configured)|Standby (coordinator|master) not configured/i,
    message: "no standby is registered in gp_segment_configuration; gpinitstandby -s creates one",
  },
  {
    id: "master-not-reachable",
    pattern: /could not connect to server: Connection refused/i,
    message:
      "the utility could not connect to the master on localhost:$PGPORT; check that the master runs and that greenplum.* and dbPort match it",
  },
];

/** The first known failure in a utility's output, if any. */
export function explainFailure(output: string): KnownFailure | undefined {
  return KNOWN_FAILURES.find((f) => f.pattern.test(output));
}
