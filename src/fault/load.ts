/**
 * Rules from the command line: `--fault RULE` (repeatable) and `--faults FILE`, checked before the
 * proxy listens so a bad rule stops the command with one line.
 *
 * The file is JSON: an array of rules, or { "seed": 42, "rules": [...] }. A rule is a string in
 * the grammar of --fault or an object with the same words as fields (docs/faults.md).
 */
import fs from 'node:fs';
import { FaultRuleError, parseRule, ruleFromJson, type ParsedRule } from './rule.js';

export interface LoadedRule {
  readonly rule: ParsedRule;
  readonly enabled: boolean;
  readonly source: 'cli' | 'file';
}

export interface LoadedFaults {
  readonly rules: readonly LoadedRule[];
  /** A seed given in the file, or null. */
  readonly seed: number | null;
}

export function loadFaults(specs: readonly string[], file: string | null): LoadedFaults {
  const rules: LoadedRule[] = specs.map((spec) => ({ rule: parseRule(spec, `--fault '${spec}'`), enabled: true, source: 'cli' }));
  let seed: number | null = null;
  if (file !== null) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      throw new FaultRuleError(`--faults ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new FaultRuleError(`--faults ${file}: not JSON (${(error as Error).message})`);
    }
    let list: unknown = json;
    if (json !== null && typeof json === 'object' && !Array.isArray(json)) {
      const o = json as { seed?: unknown; rules?: unknown };
      if (o.seed !== undefined) {
        if (typeof o.seed !== 'number' || !Number.isInteger(o.seed) || o.seed < 0) throw new FaultRuleError(`--faults ${file}: "seed" is not a whole number`);
        seed = o.seed;
      }
      list = o.rules;
    }
    if (!Array.isArray(list)) throw new FaultRuleError(`--faults ${file}: expected an array of rules, or { "seed": N, "rules": [...] }`);
    list.forEach((value, i) => {
      const { rule, enabled } = ruleFromJson(value, `--faults ${file}: rule ${i + 1}`);
      rules.push({ rule, enabled, source: 'file' });
    });
  }
  return { rules, seed };
}

/** --fault-seed: a whole number 0..2^32-1. */
export function parseSeed(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 0xffff_ffff) throw new FaultRuleError(`--fault-seed: expected a whole number from 0 to 4294967295, got "${text}"`);
  return Number(text);
}
