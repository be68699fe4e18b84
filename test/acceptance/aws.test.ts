// Acceptance on a real AWS account (README "On AWS": "The acceptance suite"). It runs only
// when AWS credentials, a region and GPMIRROR_ACCEPTANCE_STACK are set, and says so loudly
// otherwise. In order, on the stack named by GPMIRROR_ACCEPTANCE_STACK (created beforehand
// with its stack file, see the README): up; SSH, replication and DNS checked from inside the
// VPC; edits (the standby's instance type, the volume size, a tag) whose previews must
// replace nothing and whose updates must not restart the primary; a change that would stop
// both masters, refused; a forced failover with the platform fence, and back; destroy, after
// which the data volumes must still exist. It has not run from gpmirror's own repository,
// which cannot reach AWS.
import { execFileSync } from "child_process";
import * as path from "path";
import { EngineEvent, LocalWorkspace, Stack } from "@pulumi/pulumi/automation";

const env = process.env;
const REGION = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
const CREDENTIALS = [
  env.AWS_ACCESS_KEY_ID,
  env.AWS_PROFILE,
  env.AWS_WEB_IDENTITY_TOKEN_FILE,
  env.AWS_CONTAINER_CREDENTIALS_FULL_URI,
].some(Boolean);
const STACK = env.GPMIRROR_ACCEPTANCE_STACK;
const ALT_TYPE = env.GPMIRROR_ACCEPTANCE_ALT_TYPE ?? "m6i.large";
const ready = Boolean(REGION && CREDENTIALS && STACK);
const missing = [
  REGION ? "" : "AWS_REGION",
  CREDENTIALS ? "" : "AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID, or a web identity)",
  STACK ? "" : "GPMIRROR_ACCEPTANCE_STACK",
].filter(Boolean);
if (!ready) {
  // Loud, so that a skipped suite is never read as a passed one.
  process.stderr.write(
    `\n*** AWS ACCEPTANCE SUITE SKIPPED: ${missing.join(", ")} not set. Nothing was checked against AWS. ***\n\n`,
  );
}
const suite = ready ? describe : describe.skip;
// Each `pulumi up` on EC2 takes minutes: boot, first contact, the pair's steps.
jest.setTimeout(60 * 60 * 1000);

const ROOT = path.join(__dirname, "..", "..");
type Json = Record<string, unknown>;

/** The operations a preview or an update planned, by resource URN. */
function collector() {
  const ops: { op: string; urn: string }[] = [];
  const onEvent = (e: EngineEvent) => {
    const m = e.resourcePreEvent?.metadata;
    if (m) ops.push({ op: m.op, urn: m.urn });
  };
  const replaced = () =>
    ops.filter((o) => /replace|create-replacement|delete-replaced/.test(o.op)).map((o) => o.urn);
  const deleted = () => ops.filter((o) => o.op === "delete").map((o) => o.urn);
  return { onEvent, replaced, deleted };
}

suite(`gpmirror on AWS (${REGION ?? "?"}, stack ${STACK ?? "?"})`, () => {
  let stack: Stack;
  let outputs: Json = {};
  let original: Json;
  let knownHosts = "";
  const out = async () => {
    const o = await stack.outputs();
    outputs = Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v.value]));
    return outputs;
  };
  const awsSettings = async (): Promise<Json> =>
    JSON.parse((await stack.getConfig("gpmirror:aws")).value) as Json;
  const setAws = (v: Json) => stack.setConfig("gpmirror:aws", { value: JSON.stringify(v) });
  const node = (k: "primary" | "standby") => outputs[k] as { host: string; port: number };
  /** A command on a master, over SSH with the pinned keys gpmirror wrote. */
  const onHost = (address: string, command: string) => {
    const a = original as { osUser?: string; connection?: { privateKeyPath?: string } };
    const key = a.connection?.privateKeyPath;
    return execFileSync(
      "ssh",
      [
        ...(key ? ["-i", key.replace(/^~\//, `${env.HOME}/`)] : []),
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        `UserKnownHostsFile=${knownHosts}`,
        `${a.osUser ?? "gpadmin"}@${address}`,
        command,
      ],
      { encoding: "utf8", timeout: 120_000 },
    ).trim();
  };
  const postmasterStart = () =>
    onHost(
      node("primary").host,
      `psql -X -At -p ${node("primary").port} -d postgres -c 'SELECT pg_postmaster_start_time()'`,
    );
  /** Preview must replace nothing; the update then must not restart the primary. */
  const editWithoutReplacement = async (edit: (a: Json) => void) => {
    const a = await awsSettings();
    edit(a);
    await setAws(a);
    const preview = collector();
    await stack.preview({ onEvent: preview.onEvent, refresh: true });
    expect(preview.replaced()).toEqual([]);
    expect(preview.deleted()).toEqual([]);
    const before = postmasterStart();
    await stack.up({ refresh: true });
    expect(postmasterStart()).toBe(before);
    await out();
    expect((outputs.replication as Json).state).toBe("streaming");
  };

  beforeAll(async () => {
    stack = await LocalWorkspace.selectStack({ stackName: STACK ?? "", workDir: ROOT });
    original = await awsSettings();
    const conn = (original.connection ?? {}) as { knownHostsFile?: string };
    knownHosts =
      conn.knownHostsFile ?? path.join(env.HOME ?? "", ".gpmirror", STACK ?? "", "known_hosts");
  });

  it("builds the pair: up, streaming, a recorded system identifier", async () => {
    await stack.up({ refresh: true });
    await out();
    expect((outputs.replication as Json).state).toBe("streaming");
    expect((outputs.awsRecord as Json).systemIdentifier).toMatch(/^\d{10,}$/);
    expect(outputs.mastersSecurityGroupId).toMatch(/^sg-/);
  });

  it("reaches both masters over SSH with the pinned keys, and resolves the name inside the VPC", () => {
    const dns = String(outputs.clientEndpoint).split(":")[0];
    expect(onHost(node("standby").host, `getent hosts ${dns} | cut -d' ' -f1`)).toBe(
      node("primary").host,
    );
    expect(
      onHost(
        node("primary").host,
        `psql -X -At -p ${node("primary").port} -d postgres -c "SELECT state FROM pg_stat_replication"`,
      ),
    ).toBe("streaming");
    // The bootstrap key is gone: the host presents the key it made itself.
    expect(
      onHost(node("standby").host, "test -e /var/lib/gpmirror/host-key.rotated && echo y"),
    ).toBe("y");
  });

  it("changes the standby's instance type alone, replacing nothing", async () => {
    await editWithoutReplacement((a) => {
      a.hosts = { ...(a.hosts as Json), standby: { instanceType: ALT_TYPE } };
    });
  });

  it("grows the data volumes and adds a tag, replacing nothing", async () => {
    await editWithoutReplacement((a) => {
      const v = (a.dataVolume ?? {}) as Json;
      a.dataVolume = { ...v, sizeGiB: Number(v.sizeGiB ?? 200) + 10 };
      a.tags = { ...((a.tags ?? {}) as Json), "gpmirror-acceptance": "edited" };
    });
  });

  it("refuses a change that would stop both masters", async () => {
    const a = await awsSettings();
    await setAws({ ...a, instanceType: ALT_TYPE, hosts: {} });
    await expect(stack.preview()).rejects.toThrow(/would stop both masters/);
    await setAws(a);
  });

  it("fails over by force with the platform fence, then re-protects the old primary", async () => {
    const oldPrimary = node("primary").host;
    await stack.setConfig("gpmirror:activeMaster", { value: "standby" });
    await stack.setConfig("gpmirror:protect", { value: "false" });
    await stack.setConfig("gpmirror:activation", { value: JSON.stringify({ force: true }) });
    await stack.up();
    await out();
    expect(node("primary").host).not.toBe(oldPrimary);
    const dns = String(outputs.clientEndpoint).split(":")[0];
    expect(onHost(node("primary").host, `getent hosts ${dns} | cut -d' ' -f1`)).toBe(
      node("primary").host,
    );
    await stack.setConfig("gpmirror:activation", { value: JSON.stringify({ force: false }) });
    await stack.setConfig("gpmirror:protect", { value: "true" });
    await stack.up();
    await out();
    expect((outputs.replication as Json).state).toBe("streaming");
  });

  it("destroys the stack and keeps the data volumes", async () => {
    const exported = await stack.exportStack();
    const resources = (exported.deployment as { resources?: Json[] }).resources ?? [];
    const volumes = resources
      .filter((r) => r.type === "aws:ebs/volume:Volume")
      .map((r) => String(r.id));
    expect(volumes).toHaveLength(2);
    await setAws({ ...(await awsSettings()), terminationProtection: false });
    await stack.up();
    await stack.destroy();
    const left = execFileSync(
      "aws",
      [
        "ec2",
        "describe-volumes",
        "--region",
        REGION ?? "",
        "--volume-ids",
        ...volumes,
        "--query",
        "Volumes[].VolumeId",
        "--output",
        "text",
      ],
      { encoding: "utf8" },
    );
    expect(left.split(/\s+/).filter(Boolean).sort()).toEqual([...volumes].sort());
    process.stderr.write(
      `The data volumes ${volumes.join(" ")} were kept, as designed; delete them with aws ec2 delete-volume when done.\n`,
    );
  });
});
