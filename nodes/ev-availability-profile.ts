/**
 * ev-availability-profile: learns from AvailabilityRecords when a site tends
 * to have a free charger (per weekday × hour) and sends the profile as a
 * table (output 1) and as Dashboard 2.0 chart series (output 2). The profile
 * lives in node context, so a persistent context store keeps it across restarts.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";
import { AvailabilityProfile, type ProfileMetric, parseWeekday, samplesFrom } from "./lib/availability/profile";
import { Lifecycle } from "./lib/node-red/lifecycle";
import { Status } from "./lib/node-red/status";
import { errorMessage } from "./lib/errors";

interface ProfileDef extends NodeDef {
  store?: string;
  metric?: string;
  chartSite?: string;
  chartWeekday?: string;
  emit?: string;
}

const CONTEXT_KEY = "availabilityProfile";
const METRICS: readonly ProfileMetric[] = ["pAnyFree", "meanShare", "meanAvailable"];

export = (RED: NodeAPI): void => {
  function EvAvailabilityProfile(this: Node, def: ProfileDef): void {
    RED.nodes.createNode(this, def);
    const life = new Lifecycle(this);
    const store = def.store?.trim() || undefined;
    const metric: ProfileMetric = METRICS.includes(def.metric as ProfileMetric) ? (def.metric as ProfileMetric) : "pAnyFree";
    const emitOnUpdate = def.emit !== "request";
    const context = this.context();
    let profile = new AvailabilityProfile();

    const showStatus = (): void => {
      const sites = profile.sites.length;
      this.status(sites === 0 ? Status.idle("no data yet") : Status.ok(`${sites} site${sites === 1 ? "" : "s"} · ${profile.sampleCount} samples`));
    };

    // Loading from a file store is asynchronous: inputs wait for it.
    const ready = new Promise<void>((resolve) => {
      try {
        context.get(CONTEXT_KEY, store as string, (err: Error | undefined, saved: unknown) => {
          if (err) this.warn(`Could not read the saved profile (${err.message}); starting empty`);
          else profile = AvailabilityProfile.fromJSON(saved);
          showStatus();
          resolve();
        });
      } catch (err) {
        this.warn(`Could not read the saved profile (${errorMessage(err)}); starting empty`);
        showStatus();
        resolve();
      }
    });

    const save = (): Promise<void> =>
      new Promise((resolve, reject) => {
        context.set(CONTEXT_KEY, profile.toJSON(), store as string, (err?: Error) => (err ? reject(new Error(`Could not save the profile: ${err.message}`)) : resolve()));
      });

    const outputs = (msg: NodeMessage, site: string | undefined): [NodeMessage, NodeMessage | null] => {
      const chartSite = def.chartSite?.trim() || site || profile.sites[0];
      const weekday = parseWeekday(def.chartWeekday);
      const table: NodeMessage = { ...msg, topic: site ?? "profile", payload: profile.table(site) };
      if (!chartSite) return [table, null];
      const chart = {
        ...msg,
        topic: chartSite,
        // Dashboard 2.0 ui-chart: series/x/y keys "series", "x", "y"; replace rather than append.
        action: "replace",
        payload: profile.chartSeries(chartSite, metric, weekday),
      } as NodeMessage;
      return [table, chart];
    };

    life.onInput(async (msg: NodeMessageInFlow, send) => {
      await ready;
      const topic = typeof msg.topic === "string" ? msg.topic : "";
      const site = typeof (msg as { site?: unknown }).site === "string" ? (msg as { site?: string }).site : undefined;
      if (topic === "reset") {
        profile.reset(site);
        await save();
        showStatus();
        return;
      }
      if (topic === "get") {
        send(outputs(msg, site));
        return;
      }
      const { samples, rejected } = samplesFrom(msg.payload);
      if (samples.length === 0) {
        throw new Error(
          "No availability records in msg.payload: expected {site, weekday, hourOfDay, available, total} (or an Influx point / array of them)",
        );
      }
      for (const sample of samples) profile.add(sample);
      await save();
      showStatus();
      if (rejected > 0) this.warn(`${rejected} item(s) in msg.payload were not availability records and were skipped`);
      if (emitOnUpdate) send(outputs(msg, samples.length === 1 || samples.every((s) => s.site === samples[0].site) ? samples[0].site : site));
    });
  }

  RED.nodes.registerType("ev-availability-profile", EvAvailabilityProfile);
};
