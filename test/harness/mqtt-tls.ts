/**
 * MQTT over TLS with client certificates, for tests: a throw-away CA with a
 * server and a client certificate (node-forge; the RSA keys come from Node's
 * crypto because pure-JS key generation is slow), and a broker that requires
 * a client certificate signed by that CA: embedded aedes by default,
 * Mosquitto when TEST_MQTT_BROKER=mosquitto and the binary is on PATH.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import forge from "node-forge";

export interface Pem {
  cert: string;
  key: string;
}

export interface TestCertificates {
  ca: Pem;
  server: Pem;
  client: Pem;
  /** A client certificate from a different CA, which the broker must refuse. */
  stranger: Pem;
  /** The same files on disk (for Mosquitto and the core tls-config node). */
  dir: string;
  files: { ca: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string };
  remove(): void;
}

function rsaKeys(): forge.pki.rsa.KeyPair {
  const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pem = privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey;
  return { privateKey: forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e) };
}

let serial = 1;

function certificate(
  subjectCn: string,
  keys: forge.pki.rsa.KeyPair,
  issuer: { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey } | undefined,
  extensions: object[],
): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = (serial++).toString(16).padStart(2, "0") + crypto.randomBytes(8).toString("hex");
  cert.validity.notBefore = new Date(Date.now() - 3_600_000);
  cert.validity.notAfter = new Date(Date.now() + 24 * 3_600_000);
  const subject = [{ name: "commonName", value: subjectCn }, { name: "organizationName", value: "evkit tests" }];
  cert.setSubject(subject);
  cert.setIssuer(issuer ? issuer.cert.subject.attributes : subject);
  cert.setExtensions(extensions);
  cert.sign(issuer ? issuer.key : keys.privateKey, forge.md.sha256.create());
  return cert;
}

function makeCa(name: string): { cert: forge.pki.Certificate; keys: forge.pki.rsa.KeyPair } {
  const keys = rsaKeys();
  const cert = certificate(name, keys, undefined, [
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
  ]);
  return { cert, keys };
}

function leaf(cn: string, ca: { cert: forge.pki.Certificate; keys: forge.pki.rsa.KeyPair }, server: boolean): Pem {
  const keys = rsaKeys();
  const extensions: object[] = [
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: server, clientAuth: !server },
  ];
  if (server) extensions.push({ name: "subjectAltName", altNames: [{ type: 7, ip: "127.0.0.1" }, { type: 2, value: "localhost" }] });
  const cert = certificate(cn, keys, { cert: ca.cert, key: ca.keys.privateKey }, extensions);
  return { cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(keys.privateKey) };
}

export function generateCertificates(): TestCertificates {
  const ca = makeCa("evkit test CA");
  const other = makeCa("someone else's CA");
  const server = leaf("127.0.0.1", ca, true);
  const client = leaf("edge-pi", ca, false);
  const stranger = leaf("edge-pi", other, false);
  const caPem: Pem = { cert: forge.pki.certificateToPem(ca.cert), key: forge.pki.privateKeyToPem(ca.keys.privateKey) };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "evkit-tls-"));
  const files = {
    ca: path.join(dir, "ca.pem"),
    serverCert: path.join(dir, "server.pem"),
    serverKey: path.join(dir, "server.key"),
    clientCert: path.join(dir, "client.pem"),
    clientKey: path.join(dir, "client.key"),
  };
  fs.writeFileSync(files.ca, caPem.cert);
  fs.writeFileSync(files.serverCert, server.cert);
  fs.writeFileSync(files.serverKey, server.key, { mode: 0o600 });
  fs.writeFileSync(files.clientCert, client.cert);
  fs.writeFileSync(files.clientKey, client.key, { mode: 0o600 });
  return { ca: caPem, server, client, stranger, dir, files, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export interface TlsBroker {
  /** mqtts://127.0.0.1:<port> */
  url: string;
  port: number;
  kind: "aedes" | "mosquitto";
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export function mosquittoAvailable(): boolean {
  return spawnSync("mosquitto", ["-h"], { stdio: "ignore" }).error === undefined;
}

/** The broker for this run: Mosquitto only when asked for (TEST_MQTT_BROKER=mosquitto) and installed. */
export function brokerKind(): "aedes" | "mosquitto" {
  return process.env.TEST_MQTT_BROKER === "mosquitto" && mosquittoAvailable() ? "mosquitto" : "aedes";
}

export async function startTlsBroker(certs: TestCertificates, kind = brokerKind()): Promise<TlsBroker> {
  return kind === "mosquitto" ? startMosquitto(certs) : startAedes(certs);
}

async function startAedes(certs: TestCertificates): Promise<TlsBroker> {
  const { Aedes } = await import("aedes");
  const broker = await Aedes.createBroker();
  const sockets = new Set<tls.TLSSocket>();
  const server = tls.createServer(
    { key: certs.server.key, cert: certs.server.cert, ca: certs.ca.cert, requestCert: true, rejectUnauthorized: true },
    (socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      broker.handle(socket);
    },
  );
  // A refused handshake is the expected outcome for a client without the right certificate.
  server.on("tlsClientError", () => undefined);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `mqtts://127.0.0.1:${port}`,
    port,
    kind: "aedes",
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}

async function startMosquitto(certs: TestCertificates): Promise<TlsBroker> {
  const port = await freePort();
  // Started as root, Mosquitto drops to its own user, which must be able to read these throw-away files.
  fs.chmodSync(certs.dir, 0o755);
  for (const file of Object.values(certs.files)) fs.chmodSync(file, 0o644);
  const conf = path.join(certs.dir, "mosquitto.conf");
  fs.writeFileSync(
    conf,
    [
      "persistence false",
      "log_dest stderr",
      "log_type error",
      `listener ${port} 127.0.0.1`,
      "allow_anonymous true",
      `cafile ${certs.files.ca}`,
      `certfile ${certs.files.serverCert}`,
      `keyfile ${certs.files.serverKey}`,
      "require_certificate true",
      "",
    ].join("\n"),
  );
  const child: ChildProcess = spawn("mosquitto", ["-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const until = Date.now() + 10_000;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => {
        socket.destroy();
        resolve(true);
      });
      socket.on("error", () => resolve(false));
    });
    if (open) break;
    if (child.exitCode !== null || Date.now() > until) {
      child.kill();
      throw new Error(`Mosquitto did not start on port ${port}: ${stderr.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `mqtts://127.0.0.1:${port}`,
    port,
    kind: "mosquitto",
    close: async () => {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
    },
  };
}

/**
 * Connects an independent mqtt.js client; unlike connectAsync it also fails
 * when the broker just drops the connection (as a refused TLS handshake does).
 */
export async function connectMqtt(url: string, options: import("mqtt").IClientOptions): Promise<import("mqtt").MqttClient> {
  const mqtt = await import("mqtt");
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
  return new Promise((resolve, reject) => {
    const fail = (err?: Error): void => {
      client.removeAllListeners("connect");
      client.end(true);
      reject(err ?? new Error("The broker closed the connection before accepting it"));
    };
    client.once("connect", () => {
      client.removeListener("error", fail);
      client.removeListener("close", onClose);
      resolve(client);
    });
    const onClose = (): void => fail();
    client.once("error", fail);
    client.once("close", onClose);
  });
}
