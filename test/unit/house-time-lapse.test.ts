import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { houseTimeLapse } from "../servers/dev-simulators";
import { startHouseSimulator } from "../servers/house-simulator";
import { pvCurve } from "../servers/house-model";

describe("npm start: the house simulator's time-lapse", () => {
  it("reads EV_HOUSE_SPEED and EV_HOUSE_START_HOUR, and refuses nonsense in words", () => {
    assert.deepEqual(houseTimeLapse({}), { speed: undefined, startHour: undefined });
    assert.deepEqual(houseTimeLapse({ EV_HOUSE_SPEED: "60", EV_HOUSE_START_HOUR: "6.5" }), { speed: 60, startHour: 6.5 });
    assert.throws(() => houseTimeLapse({ EV_HOUSE_SPEED: "fast" }), /EV_HOUSE_SPEED must be a number from 0.1 to 3600, got "fast"/);
    assert.throws(() => houseTimeLapse({ EV_HOUSE_START_HOUR: "25" }), /EV_HOUSE_START_HOUR/);
  });

  it("runs the simulated day at that speed from that hour", async () => {
    const house = await startHouseSimulator({ port: 0, ...houseTimeLapse({ EV_HOUSE_SPEED: "600", EV_HOUSE_START_HOUR: "7" }) });
    try {
      const first = house.clock();
      await new Promise((resolve) => setTimeout(resolve, 200));
      const moved = house.clock() - first;
      assert.ok(first >= 7 * 3600 && first < 7 * 3600 + 60, `starts at 7:00 (${first} s)`);
      assert.ok(moved >= 100 && moved < 600, `600 simulated seconds per second (${moved} s in 0.2 s)`);
    } finally {
      await house.close();
    }
  });

  it("lets clouds pass in real time, whatever the speed, so the site manager's delays (real seconds) can see a clear spell", async () => {
    const house = await startHouseSimulator({ port: 0, speed: 3600, startHour: 10, cloudSlotS: 90 });
    const clearSky = pvCurve(12_000, 6 * 3600, 20 * 3600);
    try {
      const factors: number[] = [];
      for (let i = 0; i < 6; i++) {
        const t = house.clock();
        factors.push(Math.round((house.model.sample(t).pvW / clearSky(t)) * 100) / 100);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      // Half a real second is half a simulated hour here, yet the same cloud (or clear sky) throughout.
      assert.equal(new Set(factors).size, 1, `cloud factors ${factors.join(", ")}`);
    } finally {
      await house.close();
    }
  });
});
