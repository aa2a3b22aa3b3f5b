import type { Scale } from '../config.js';

export interface WorkloadContext {
  /** Port of the peer under test (the echo server itself for direct). */
  port: number;
  scale: Scale;
}

/** One measurement's figures, keyed by MetricSpec.key. */
export type Metrics = Record<string, number | boolean>;

export interface MetricSpec {
  key: string;
  label: string;
  unit: string;
  /** Direction of "good", for ratios; 'none' prints no ratio. */
  better: 'higher' | 'lower' | 'none';
}

export interface Workload {
  id: string;
  title: string;
  metrics: MetricSpec[];
  run(ctx: WorkloadContext): Promise<Metrics>;
  /** Strictly sequential round trips: run with every process on one CPU (see pinToOneCpu). */
  pinned?: boolean;
  /** Extra warm-up on the fresh peer, before its RSS baseline is taken. */
  warmup?(ctx: WorkloadContext): Promise<void>;
}
