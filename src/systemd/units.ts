// The systemd units: a oneshot service + timer (one pass every 5 minutes) and the supervisor service (the
// loop), rendered for `mcp-reaper systemd print|install` with real paths, and for the files in systemd/.
export interface UnitOptions {
  /**
   * Units for the user's service manager (systemctl --user) or the system one. (The shipped files are
   * system units: a user manager applies neither their capabilities nor their namespaces, see sandbox().)
   */
  user: boolean;
  /** Absolute path of the program systemd starts: node, or /usr/bin/env for the shipped files. */
  node: string;
  /** The script node runs (bin/mcp-reaper.js), or "mcp-reaper" after /usr/bin/env. */
  bin: string;
  /** Extra options for both services, already split into words. */
  args: string[];
  /** The supervisor's --schedule. */
  schedule: string;
  /**
   * Where both services read their MCP_REAPER_* settings, as unit text: OPTIONS_FILE (a specifier), or
   * an absolute path given to print/install with --options-file.
   */
  optionsFile: string;
  /** Directories the services may write besides their runtime and state dirs (the metrics and state files'). */
  writablePaths: string[];
  /** System units only: run as this user (the gateway's) with no capabilities at all. Null: root with CAP_KILL, CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH. */
  runAs: string | null;
  /** Options for the supervisor's line only (the pressure triggers, which act between a loop's passes), split into words. Default []. */
  supervisorArgs?: string[];
}

export const SUPERVISOR_SCHEDULE = "* * * * *";
/** Where both services read their MCP_REAPER_* settings: /etc/mcp-reaper/options, or ~/.config/mcp-reaper/options for user units. */
export const OPTIONS_FILE = "%E/mcp-reaper/options";

/**
 * One word of an ExecStart= line. systemd splits on spaces, honours quotes and C escapes, and expands
 * %specifiers and $VARIABLES even inside quotes, so % and $ are doubled too.
 */
export function execWord(word: string): string {
  const escaped = word.replace(/%/g, "%%").replace(/\$/g, "$$$$");
  if (/^[A-Za-z0-9_@+=:,./-]+$/.test(word)) return escaped;
  return `"${escaped.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n").replace(/\t/g, "\\t")}"`;
}

/**
 * What a user manager can apply: filters that need no namespace (seccomp, with NoNewPrivileges). Under
 * systemd 252 an unprivileged user manager cannot set up namespaces for a unit: it skips PrivateNetwork=,
 * PrivateTmp= and the like with a notice (`network namespace setup failed, ignoring`) and fails the unit
 * on others (218/CAPABILITIES for CapabilityBoundingSet= with PrivateDevices=, 226/NAMESPACE for
 * ProtectKernelLogs=). PrivateUsers=yes would let it, but in a user namespace of its own the reaper can
 * no longer read the user's other processes' /proc/PID/io, cwd and environ (Permission denied: the
 * ptrace check wants CAP_SYS_PTRACE in their namespace), so the activity guard would never see an idle
 * server and nothing would ever be reaped. So user units carry only what really applies.
 */
const FILTERS = [
  "NoNewPrivileges=yes",
  "RestrictNamespaces=yes",
  "RestrictRealtime=yes",
  "RestrictSUIDSGID=yes",
  "LockPersonality=yes",
  "# AF_UNIX: systemctl talks to the service manager over a unix socket. AF_NETLINK: ss -xa (--orphans);",
  "# without it ss falls back to /proc/net/unix, which has no peers.",
  "RestrictAddressFamilies=AF_UNIX AF_NETLINK",
  "# No MemoryDenyWriteExecute=: Node's JIT needs writable code pages.",
  "SystemCallArchitectures=native",
  "SystemCallFilter=@system-service",
  "SystemCallFilter=~@privileged @resources",
  "SystemCallErrorNumber=EPERM",
];

/** The rest of the sandbox: namespaces and mounts, which only the system manager sets up. */
function namespaces(o: UnitOptions): string[] {
  return [
    "ProtectSystem=strict",
    "ProtectHome=read-only",
    "# A --gateway-pidfile under /tmp is not visible with PrivateTmp: keep pidfiles in /run.",
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "# The host's network namespace: --orphans asks the kernel (ss -xa, sock_diag over netlink) for the peers",
    "# of the gateway's unix sockets, which a private namespace does not list. No IP at all instead:",
    "PrivateNetwork=no",
    "IPAddressDeny=any",
    "PrivateMounts=yes",
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectKernelLogs=yes",
    "ProtectControlGroups=yes",
    "ProtectClock=yes",
    "ProtectHostname=yes",
    ...(o.writablePaths.length > 0
      ? ["# `-`: a directory that is missing at start is skipped instead of failing the unit (226/NAMESPACE);", "# the write is then refused and logged every pass. `systemd install` creates them."]
      : []),
    ...o.writablePaths.map((p) => `ReadWritePaths=-${execWord(p)}`),
  ];
}

function sandbox(o: UnitOptions): string[] {
  const files = [
    "# The metrics file must be readable by node_exporter.",
    "UMask=0022",
    "# The lock lives here; kept across stops so the timer's runs and the supervisor share one.",
    "RuntimeDirectory=mcp-reaper",
    "RuntimeDirectoryPreserve=yes",
    "# --idle keeps its activity history here ($STATE_DIRECTORY/activity.json), so timer runs learn from each other.",
    "StateDirectory=mcp-reaper",
  ];
  if (o.user) {
    return [
      "# Sandbox: the reaper reads /proc, may run systemctl (--gateway-unit) and ss (--orphans), and signals",
      "# the user's own processes. A user manager grants no capabilities and sets up no namespaces (mount,",
      "# network, user): a user namespace of its own would hide the user's other processes' /proc/PID/io,",
      "# cwd and environ from the reaper (seen under systemd 252), so these units carry only the filters a",
      "# user manager applies. For the full sandbox, use system units (--run-as USER).",
      ...FILTERS,
      ...files,
    ];
  }
  const caps =
    o.runAs !== null
      ? [
          "# Runs as the gateway's user: same uid, so signalling its servers and reading their /proc files",
          "# (cwd, io, environ, fd) needs no capability at all.",
          `User=${o.runAs}`,
          "# RuntimeDirectory= below makes /run/mcp-reaper owned by this user: the lock goes there, where a",
          "# manual run as the same user looks first (not /tmp, which PrivateTmp= makes private to each unit).",
          "CapabilityBoundingSet=",
        ]
      : [
          "# Runs as root to reach a gateway of ANOTHER user, with three capabilities only: CAP_KILL to signal",
          "# that user's servers; CAP_SYS_PTRACE because /proc/PID/cwd, io, environ and fd/ of another uid are",
          "# ptrace-checked; CAP_DAC_READ_SEARCH because io and environ (0400) and fd/ (0500) belong to that uid",
          "# and fail the file permission check first (without it activity is always unknown, so nothing idle",
          "# is ever reaped, and --orphans cannot read fds). The syscall filter below has no ptrace(2) or",
          "# process_vm_readv(2) (@debug), so these widen /proc reads only; nothing is written with them.",
          "# If the gateway runs as one user, prefer `mcp-reaper systemd print --run-as USER` (no capabilities).",
          "CapabilityBoundingSet=CAP_KILL CAP_SYS_PTRACE CAP_DAC_READ_SEARCH",
        ];
  return [
    "# Sandbox: the reaper reads /proc, may run systemctl (--gateway-unit) and ss (--orphans), sends signals,",
    "# and writes only its lock (RuntimeDirectory), its activity history (StateDirectory) and, with",
    "# --metrics-file or --state-file, those files (ReadWritePaths).",
    ...caps,
    ...FILTERS,
    ...namespaces(o),
    ...files,
  ];
}

/**
 * Defaults the services set in their environment, so the options file (and the command line) still
 * override them: the activity guard on (MCP_REAPER_IDLE=0, or empty, in the options file turns it off).
 * (No NODE_OPTIONS: the loop's full GC after each pass keeps
 * its RSS flat under Node's defaults; see src/supervise/memory.ts.)
 */
const SERVICE_ENV = ["Environment=MCP_REAPER_IDLE=10m"];

/** An ExecStart= (or ExecReload=) line: node, the bin, `extra` (already unit text), the options, `tail`. */
function execLine(o: UnitOptions, extra: string[], key = "ExecStart", tail: string[] = []): string {
  return [`${key}=` + [o.node, o.bin].map(execWord).join(" "), ...extra, ...o.args.map(execWord), ...tail].join(" ");
}

/** The three units, in install order: name and text. */
export function renderUnits(o: UnitOptions): { name: string; text: string }[] {
  const wantedBy = o.user ? "default.target" : "multi-user.target";
  const oneshot = [
    "# mcp-reaper: one pass over the gateway's MCP stdio servers; started by mcp-reaper.timer.",
    `# Settings: MCP_REAPER_* lines in ${o.optionsFile}${o.optionsFile === OPTIONS_FILE ? " (%E: /etc, or ~/.config for user units)" : ""}.`,
    "# Use either this timer or mcp-reaper-supervisor.service for a gateway, not both: they share one lock.",
    "[Unit]",
    "Description=Reap leaked MCP stdio servers under an AI gateway (one pass)",
    "",
    "[Service]",
    "Type=oneshot",
    "# Exit 3 is \"gateway not found\": a gateway that is down (restarting, stopped) is no failure of the",
    "# reaper, so the unit is not marked failed on every tick; the line in the journal says it.",
    "SuccessExitStatus=3",
    ...SERVICE_ENV,
    `EnvironmentFile=-${o.optionsFile}`,
    execLine(o, []),
    "SyslogIdentifier=mcp-reaper",
    ...sandbox(o),
    "",
  ];
  const timer = [
    "# mcp-reaper: run mcp-reaper.service every 5 minutes; Persistent= catches up a run missed while off.",
    "[Unit]",
    "Description=Reap leaked MCP stdio servers every 5 minutes",
    "",
    "[Timer]",
    "OnCalendar=*:0/5",
    "Persistent=true",
    "",
    "[Install]",
    "WantedBy=timers.target",
    "",
  ];
  const loop = ["--schedule", execWord(o.schedule), "--options-file", o.optionsFile, ...(o.supervisorArgs ?? []).map(execWord)];
  const supervisor = [
    "# mcp-reaper supervisor: the long-running loop (a pass on a cron schedule, following gateway restarts).",
    "# Settings: --options-file rather than EnvironmentFile=, because `systemctl reload` (SIGHUP) re-reads",
    "# the file; an EnvironmentFile= is read only at start and would mask keys removed from it later.",
    "[Unit]",
    "Description=Keep an AI gateway's MCP stdio servers bounded (supervisor)",
    "# One reaper per gateway: starting the loop stops the timer.",
    "Conflicts=mcp-reaper.timer",
    "",
    "[Service]",
    "Type=exec",
    ...SERVICE_ENV,
    execLine(o, loop),
    "# The same command line with --reload: reads the options as the loop would and sends it SIGHUP only",
    "# when they are good; otherwise it says why and exits 2, so `systemctl reload` fails instead of",
    "# reporting success for options the loop would reject.",
    execLine(o, loop, "ExecReload", ["--reload", "$MAINPID"]),
    "Restart=on-failure",
    "RestartSec=10s",
    "# Exit 2 (bad options), 5 (another reaper holds the lock) and a sandbox the manager cannot set up",
    "# (218/CAPABILITIES, 226/NAMESPACE) do not get better by restarting every 10 s for ever.",
    "RestartPreventExitStatus=2 5 218 226",
    "# SIGTERM cuts a pass's grace wait short (survivors get SIGKILL); the loop exits within seconds.",
    "TimeoutStopSec=15s",
    "SyslogIdentifier=mcp-reaper",
    ...sandbox(o),
    "",
    "[Install]",
    `WantedBy=${wantedBy}`,
    "",
  ];
  return [
    { name: "mcp-reaper.service", text: oneshot.join("\n") },
    { name: "mcp-reaper.timer", text: timer.join("\n") },
    { name: "mcp-reaper-supervisor.service", text: supervisor.join("\n") },
  ];
}

/** The files shipped in systemd/: system units that find mcp-reaper on systemd's PATH (/usr/local/bin after `npm i -g`). */
export const SHIPPED: UnitOptions = {
  user: false,
  node: "/usr/bin/env",
  bin: "mcp-reaper",
  args: [],
  schedule: SUPERVISOR_SCHEDULE,
  optionsFile: OPTIONS_FILE,
  writablePaths: [],
  runAs: null,
};

/** `# FILE name` header, then the unit: what `systemd print` writes. */
export function printUnits(o: UnitOptions): string {
  return renderUnits(o)
    .map((u) => `# FILE ${u.name}\n${u.text}`)
    .join("\n");
}
