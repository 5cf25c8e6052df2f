import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { sleep } from "../../../nodes/lib/backoff";
import { BudgetExceededError, runScheduled } from "../../../nodes/lib/availability/scheduler";

describe("availability scheduler", () => {
  it("runs tasks in parallel up to the concurrency limit, with a stagger between starts", async () => {
    let active = 0;
    let peak = 0;
    const starts: number[] = [];
    const t0 = Date.now();
    const outcomes = await runScheduled(
      [1, 2, 3, 4, 5, 6],
      async (n) => {
        starts.push(Date.now() - t0);
        active++;
        peak = Math.max(peak, active);
        await sleep(200);
        active--;
        return n * 10;
      },
      { concurrency: 3, staggerMs: 50, budgetMs: 5000 },
    );
    assert.deepEqual(outcomes.map((o) => (o.ok ? o.value : null)), [10, 20, 30, 40, 50, 60]);
    assert.equal(peak, 3);
    for (let i = 1; i < starts.length; i++) assert.ok(starts[i] - starts[i - 1] >= 45, `start ${i} only ${starts[i] - starts[i - 1]} ms after the previous`);
  });

  it("reports failures per task without holding back the others", async () => {
    const outcomes = await runScheduled(
      ["ok", "boom", "ok2"],
      async (item) => {
        if (item === "boom") throw new Error("site exploded");
        return item;
      },
      { concurrency: 3, staggerMs: 0, budgetMs: 1000 },
    );
    assert.equal(outcomes[0].ok && outcomes[0].value, "ok");
    assert.equal(!outcomes[1].ok && outcomes[1].error.message, "site exploded");
    assert.equal(outcomes[2].ok && outcomes[2].value, "ok2");
  });

  it("stops at the overall budget: running tasks are cut off and unstarted ones are skipped", async () => {
    const t0 = Date.now();
    const outcomes = await runScheduled(
      ["fast", "hangs", "late"],
      async (item, signal) => {
        if (item === "fast") return item;
        // Ignores its signal on purpose: the scheduler must still end on time.
        void signal;
        await new Promise((resolve) => setTimeout(resolve, item === "hangs" ? 5000 : 10).unref());
        return item;
      },
      { concurrency: 2, staggerMs: 0, budgetMs: 300 },
    );
    const elapsed = Date.now() - t0;
    assert.ok(elapsed < 1500, `took ${elapsed} ms`);
    assert.equal(outcomes[0].ok, true);
    assert.equal(outcomes[1].ok, false);
    assert.ok(!outcomes[1].ok && outcomes[1].error instanceof BudgetExceededError);
    assert.match(!outcomes[1].ok ? outcomes[1].error.message : "", /overall time budget of 0.3 s/);
    assert.equal(outcomes[2].ok, true, "the third started when the fast one finished and was quick");
  });

  it("marks tasks that could not start before the budget ran out", async () => {
    const outcomes = await runScheduled([1, 2, 3], async () => sleep(1000), { concurrency: 1, staggerMs: 0, budgetMs: 200 });
    assert.deepEqual(outcomes.map((o) => o.ok), [false, false, false]);
    assert.ok(!outcomes[0].ok && outcomes[0].started);
    assert.ok(!outcomes[1].ok && !outcomes[1].started && /was not started/.test(outcomes[1].error.message));
  });

  it("cancels everything when the caller aborts", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const outcomes = await runScheduled([1, 2], async (_n, signal) => sleep(5000, signal), { concurrency: 2, staggerMs: 0, budgetMs: 10_000, signal: controller.signal });
    assert.deepEqual(outcomes.map((o) => (o.ok ? "ok" : o.error.message)), ["Cancelled because the node stopped", "Cancelled because the node stopped"]);
  });
});
