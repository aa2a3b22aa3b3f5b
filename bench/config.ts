/** Command-line options and the two workload scales. */

export interface Scale {
  reps: number;
  /** Workload 1: pipelined 64-byte text echoes, `window` in flight. */
  messages: number;
  window: number;
  /** Workload 2: binary echoes of 64 KiB and 1 MiB. */
  count64k: number;
  window64k: number;
  count1m: number;
  window1m: number;
  /** Workload 3: sequential 16-byte ping/pong round trips. */
  pings: number;
  /** Workload 4: concurrent connections, round trips on each, connects in flight at once. */
  conns: number;
  connRoundTrips: number;
  connectConcurrency: number;
  /** Workload 5: one binary frame of this many MiB. */
  bigFrameMiB: number;
  /** Per measurement; a stuck proxy fails the measurement instead of hanging the run. */
  timeoutMs: number;
}

export const FULL: Scale = {
  reps: 3,
  messages: 200_000,
  window: 100,
  count64k: 2_000,
  window64k: 8,
  count1m: 200,
  window1m: 4,
  pings: 20_000,
  conns: 2_000,
  connRoundTrips: 20,
  // Bounded so the SYN/accept queues never overflow: that would time kernel retransmits, not proxies.
  connectConcurrency: 128,
  bigFrameMiB: 256,
  timeoutMs: 120_000,
};

export const QUICK: Scale = {
  ...FULL,
  reps: 1,
  messages: 20_000,
  count64k: 1_000,
  count1m: 100,
  pings: 10_000,
  conns: 200,
  bigFrameMiB: 32,
  timeoutMs: 45_000,
};

export interface Options {
  quick: boolean;
  tui: boolean;
  /** Also wsproxy headless with --log-file (the JSONL log). */
  log: boolean;
  scale: Scale;
  /** Workload ids to run (all when empty). */
  only: string[];
  /** Pin the latency workload to one CPU (default on). */
  pin: boolean;
}

export const USAGE = `usage: npm run bench -- [--quick] [--tui] [--log] [--reps N] [--only w1,w2a,w2b,w3,w4,w5,w6] [--no-pin]
  --quick   scaled-down counts, one repetition (about a minute)
  --tui     also measure wsproxy with its TUI attached (needs tmux)
  --log     also measure wsproxy headless with --log-file (the JSONL log of every event)
  --reps N  repetitions (default 3, or 1 with --quick)
  --only    run a subset of workloads
  --no-pin  do not pin the latency workload (w3) to one CPU`;

export function parseArgs(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const scale: Scale = { ...(quick ? QUICK : FULL) };
  const opts: Options = { quick, tui: argv.includes('--tui'), log: argv.includes('--log'), scale, only: [], pin: !argv.includes('--no-pin') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick' || a === '--tui' || a === '--log' || a === '--no-pin') continue;
    if (a === '--reps') {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1 || n > 20) throw new Error('--reps takes 1..20');
      scale.reps = n;
    } else if (a === '--only') {
      opts.only = (argv[++i] ?? '').split(',').filter(Boolean);
    } else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else {
      throw new Error(`unknown option ${a}\n${USAGE}`);
    }
  }
  return opts;
}
