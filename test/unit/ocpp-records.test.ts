import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ocppRecords } from "../../nodes/lib/ocpp-records/records";
import { mergeUpsertRows, ocppRows, upsertSql, UPSERTS } from "../../nodes/lib/timescale/ocpp";
import { toLines } from "../../nodes/lib/influx/points";

const at = "2026-11-21T10:00:00.000Z";

describe("OCPP events as database records", () => {
  it("recognises ev-ocpp-in events only, and stores only status, session start/end and meter kinds", () => {
    assert.equal(ocppRecords({ kind: "status", identity: 1, time: at }), undefined, "identity must be text");
    assert.equal(ocppRecords({ kind: "nonsense", identity: "CP", time: at }), undefined);
    assert.equal(ocppRows({ site: "x", available: 1 }), undefined);
    assert.deepEqual(ocppRows({ kind: "boot", identity: "CP", time: at, vendor: "v", model: "m" }), []);
    assert.deepEqual(ocppRows({ kind: "session.updated", identity: "CP", time: at, transactionId: 1 }), []);
  });

  it("meter values: numeric samples only, one row each", () => {
    const rows = ocppRows({
      kind: "meter",
      identity: "CP",
      time: at,
      connectorId: 1,
      samples: [
        { connectorId: 1, timestamp: at, measurand: "Energy.Active.Import.Register", location: "Outlet", context: "Sample.Periodic", format: "Raw", unit: "Wh", value: 12, rawValue: "12" },
        { connectorId: 1, timestamp: at, measurand: "Energy.Active.Import.Register", location: "Outlet", context: "Sample.Periodic", format: "SignedData", unit: "Wh", rawValue: "abc" },
      ],
    });
    assert.equal(rows?.length, 1);
    assert.deepEqual(rows?.[0].row, {
      time: at, charger: "CP", connector_id: 1, transaction_id: null, measurand: "Energy.Active.Import.Register", phase: null,
      location: "Outlet", context: "Sample.Periodic", unit: "Wh", value: 12,
    });
  });

  it("merges rows of one key within a batch as one-by-one upserts would", () => {
    const latest = UPSERTS.ocpp_status_latest;
    assert.deepEqual(
      mergeUpsertRows(
        [
          { charger: "A", connector_id: 1, status: "Charging", time: "2026-01-01T10:00:00Z" },
          { charger: "A", connector_id: 1, status: "Faulted", time: "2026-01-01T09:00:00Z" },
          { charger: "A", connector_id: 2, status: "Available", time: "2026-01-01T08:00:00Z" },
          { charger: "A", connector_id: 1, status: "Finishing", time: "2026-01-01T10:00:00Z" },
        ],
        latest,
      ).map((r) => `${r.connector_id}:${r.status}`),
      ["1:Finishing", "2:Available"],
    );
    const sessions = UPSERTS.ocpp_sessions;
    assert.deepEqual(
      mergeUpsertRows(
        [
          { charger: "A", transaction_id: 5, id_tag: "T", energy_wh: null },
          { charger: "A", transaction_id: 5, id_tag: null, energy_wh: 100 },
        ],
        sessions,
      ),
      [{ charger: "A", transaction_id: 5, id_tag: "T", energy_wh: 100 }],
    );
  });

  it("upsert SQL: newer-or-equal wins for the latest status, set values win for sessions", () => {
    assert.equal(
      upsertSql('"ocpp_status_latest"', ["charger", "connector_id", "status", "time"], ["text", "integer", "text", "timestamp with time zone"], UPSERTS.ocpp_status_latest),
      'INSERT INTO "ocpp_status_latest" AS cur ("charger", "connector_id", "status", "time") SELECT * FROM unnest($1::text[], $2::integer[], $3::text[], $4::timestamp with time zone[]) ' +
        'ON CONFLICT ("charger", "connector_id") DO UPDATE SET "status" = EXCLUDED."status", "time" = EXCLUDED."time" WHERE EXCLUDED."time" >= cur."time"',
    );
    assert.match(upsertSql('"ocpp_sessions"', ["charger", "transaction_id", "energy_wh"], ["text", "bigint", "double precision"], UPSERTS.ocpp_sessions), /"energy_wh" = COALESCE\(EXCLUDED."energy_wh", cur."energy_wh"\)$/);
    assert.throws(() => upsertSql('"ocpp_sessions"', ["charger"], ["text"], UPSERTS.ocpp_sessions), /lack a key column/);
  });

  it("InfluxDB: an OCPP status is one point with low-cardinality tags; other kinds make no points", () => {
    const lines = toLines(
      { kind: "status", identity: "CP 1", time: at, connectorId: 1, status: "Faulted", errorCode: "GroundFailure", info: "RCD tripped", timestamp: "2026-11-21T09:00:00Z" },
      { integers: "float", precision: "ms" },
    );
    assert.deepEqual(lines, ['ocpp_status,charger=CP\\ 1,connector=1,error_code=GroundFailure,status=Faulted info="RCD tripped",stale=F,up=0i 1795251600000']);
    assert.deepEqual(toLines({ kind: "rtt", identity: "CP", time: at, rttMs: 3 }, { integers: "float", precision: "ms" }), []);
  });
});
