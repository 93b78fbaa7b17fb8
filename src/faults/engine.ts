import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ControlStore, FaultRuleRecord } from '../store/control.js';
import { ConnectionDrop, faultError, fires, matches, parseFaultSpec, type CallFacts, type FaultSpec } from './rules.js';

/** A rule as the control API shows it: its id, its definition and how many calls it has matched. */
export type FaultRuleView = { id: string } & FaultSpec & { hits: number };

export type FaultKind = 'status' | 'latency' | 'drop';

interface LoadedRule {
  id: string;
  spec: FaultSpec;
}

export function toView(r: FaultRuleRecord): FaultRuleView {
  return { id: r.id, ...(JSON.parse(r.spec) as FaultSpec), hits: r.hits };
}

/**
 * Applies fault rules to calls. Rules live in the control store (shared by every process on it);
 * this process keeps a copy, replaced at once when it changes them and refreshed about once a second
 * otherwise. A call is checked against the rules in creation order: each rule it matches counts the
 * match in the store (atomically, so `nth` and seeded probabilities are the same whichever process
 * serves the call), and the first rule that fires answers.
 */
export class FaultEngine {
  private rules: LoadedRule[] = [];

  constructor(
    private readonly store: ControlStore,
    private readonly onFired: (kind: FaultKind) => void = () => undefined,
  ) {}

  get active(): boolean {
    return this.rules.length > 0;
  }

  async refresh(): Promise<void> {
    this.load(await this.store.listFaultRules());
  }

  private load(records: readonly FaultRuleRecord[]): void {
    const rules: LoadedRule[] = [];
    for (const r of records) {
      try {
        rules.push({ id: r.id, spec: parseFaultSpec(JSON.parse(r.spec)) });
      } catch {
        // A rule this version cannot read (written by another version): ignored here.
      }
    }
    this.rules = rules;
  }

  async list(): Promise<FaultRuleView[]> {
    const records = await this.store.listFaultRules();
    this.load(records);
    return records.map(toView);
  }

  async add(body: unknown): Promise<FaultRuleView> {
    const spec = parseFaultSpec(body);
    const record = await this.store.insertFaultRule(randomUUID(), JSON.stringify(spec));
    await this.refresh();
    return toView(record);
  }

  async remove(id: string): Promise<boolean> {
    const removed = await this.store.deleteFaultRule(id);
    await this.refresh();
    return removed;
  }

  async removeAll(): Promise<number> {
    const n = await this.store.deleteAllFaultRules();
    await this.refresh();
    return n;
  }

  /**
   * Runs the first rule that fires on this call: waits its latency, then throws its error (a
   * GraphError) or ConnectionDrop; a latency-only rule returns after the wait.
   */
  async apply(call: CallFacts): Promise<void> {
    if (this.rules.length === 0) return;
    for (const rule of this.rules) {
      if (!matches(rule.spec, call)) continue;
      const hits = await this.store.hitFaultRule(rule.id);
      if (hits === undefined || !fires(rule.spec, hits)) continue;
      const { spec } = rule;
      if (spec.latencyMs) await sleep(spec.latencyMs);
      if (spec.drop) {
        this.onFired('drop');
        throw new ConnectionDrop();
      }
      if (spec.status !== undefined) {
        this.onFired('status');
        throw faultError(spec);
      }
      this.onFired('latency');
      return;
    }
  }
}
