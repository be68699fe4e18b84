// The etcd members of a local stack with automatic failover (on the primary, standby and
// witness hosts, .11, .12 and .13 of its subnet), as the fault files see them from this
// machine: which one leads etcd, moving etcd's leader, killing a member and keeping it down.
import { execFileSync } from "child_process";
import * as fs from "fs";
import { etcdctlFlags } from "../../components/automaticLeader";

export type EtcdHost = "primary" | "standby" | "witness";

export const ETCD_OCTET: Record<EtcdHost, number> = { primary: 11, standby: 12, witness: 13 };

export class EtcdMembers {
  /**
   * @param subnet the stack's /24, e.g. 10.208.1
   * @param tlsDir the stack's etcd TLS directory on this machine (the witness's certificate)
   * @param etcdDir a host's etcd directory (etcd.pid of its supervisor), by built role
   */
  constructor(
    private readonly subnet: string,
    private readonly tlsDir: string,
    private readonly etcdDir: (h: EtcdHost) => string,
  ) {}

  /** The host whose etcd member is etcd's leader now (asked with the witness's certificate). */
  leader(): EtcdHost {
    for (const h of ["primary", "standby", "witness"] as const) {
      const status = this.status(h);
      if (status && status.member === status.leader) return h;
    }
    throw new Error("no etcd member says it leads");
  }

  /** Makes a host's etcd member etcd's leader (etcdctl move-leader), and waits until it is. */
  async moveLeader(to: EtcdHost): Promise<void> {
    const member = this.status(to)?.member;
    if (!member) throw new Error(`the etcd member on ${to} does not answer`);
    if (this.leader() !== to) {
      this.etcdctl(
        Object.values(ETCD_OCTET).map((o) => this.endpoint(o)),
        ["move-leader", BigInt(member).toString(16)],
      );
    }
    const deadline = Date.now() + 10_000;
    while (this.leader() !== to) {
      if (Date.now() > deadline) throw new Error(`etcd's leader did not move to ${to}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /**
   * Kills a host's etcd member (kill -9) and keeps it down (its supervisor stopped), or lets
   * the supervisor start it again.
   */
  kill(h: EtcdHost, down: boolean): void {
    const sup = fs.readFileSync(`${this.etcdDir(h)}/etcd.pid`, "utf8").trim();
    if (down) {
      execFileSync("kill", ["-STOP", sup]);
      execFileSync("pkill", ["-KILL", "-P", sup]);
    } else {
      execFileSync("kill", ["-CONT", sup]);
    }
  }

  /** A member's id and the id of the leader it follows (64-bit ids: kept as text). */
  private status(h: EtcdHost): { member: string; leader: string } | undefined {
    let out: string;
    try {
      out = this.etcdctl([this.endpoint(ETCD_OCTET[h])], ["-w", "fields", "endpoint", "status"]);
    } catch {
      return undefined;
    }
    const field = (name: string) => new RegExp(`^"${name}" : (\\d+)$`, "m").exec(out)?.[1];
    const member = field("MemberID");
    const leader = field("Leader");
    return member && leader ? { member, leader } : undefined;
  }

  private endpoint(octet: number): string {
    return `https://${this.subnet}.${octet}:2379`;
  }

  private etcdctl(endpoints: string[], args: string[]): string {
    return execFileSync("etcdctl", [...etcdctlFlags(this.tlsDir, endpoints), ...args], {
      encoding: "utf8",
      env: { ...process.env, ETCDCTL_API: "3" },
    });
  }
}
